"""The trackio template on the real trackio: both ends of its requirement range, installed with uv.

Each end gets one cached venv (tests/venv_factory.py: `.venvs/`, reused across runs; the uv cache
makes a rebuild take seconds). In it, trackio logs runs into the template's project locally and the
template's app.py is built without a server and asked what it sees; and trackio's own Space deploy
and `gator space deploy` take turns on the same Space of a `gator mirror` on 127.0.0.1.
Subprocesses get a dead proxy for everything but loopback, so nothing here reaches the internet.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from mirror_server import start_mirror
from packaging.requirements import Requirement
from venv_factory import make_venv

from gator_setup.cli.app import main
from gator_setup.spaces.deploy import DeployOptions, plan
from gator_setup.spaces.frontmatter import split
from gator_setup.spaces.templates import load, write

pytestmark = [pytest.mark.venv, pytest.mark.slow]

DRIVER = Path(__file__).with_name("trackio_driver.py")
TOKEN = "me-write-token-0001"


def requirements() -> list[str]:
    text = load("trackio").files["requirements.txt"]
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module", params=["newest", "oldest"])
def venv(request: pytest.FixtureRequest) -> Path:
    """The template's requirements as a Space build would resolve them, and at their lower bound."""
    extra = ("--resolution", "lowest-direct") if request.param == "oldest" else ()
    return make_venv(*requirements(), extra_args=extra)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    d = tmp_path_factory.mktemp("trackio-hub")
    (d / "tokens").write_text(f"{TOKEN} me write\n")
    server = start_mirror(d / "store", tokens_file=d / "tokens")
    try:
        yield server.url
    finally:
        server.stop()


def run_driver(venv: Path, cwd: Path, *args: str, endpoint: str | None = None) -> dict[str, object]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(cwd),
        "HF_HOME": str(cwd / ".hf"),
        "TRACKIO_DIR": str(cwd / ".trackio"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "NO_COLOR": "1",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    if endpoint:
        env |= {"HF_ENDPOINT": endpoint, "HF_TOKEN": TOKEN}
    proc = subprocess.run(
        [str(venv / "bin" / "python"), str(DRIVER), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def staged(tmp_path: Path, repo: str, endpoint: str | None = None) -> Path:
    """The template as `gator space deploy --repo REPO` uploads it (placeholders filled)."""
    write("trackio", tmp_path / "template")
    out = tmp_path / f"staged-{repo.replace('/', '-')}"
    out.mkdir()
    plan(DeployOptions(tmp_path / "template", repo, endpoint=endpoint), out)
    return out


def test_a_run_logged_with_trackio_shows_up_in_the_app(venv: Path, tmp_path: Path) -> None:
    space = staged(tmp_path, "me/demo")
    # The project the README tells users to log into.
    match = re.search(r'trackio\.init\(project="([^"]+)"', (space / "README.md").read_text())
    assert match
    project = match.group(1)
    seen = run_driver(venv, space, "serve", project)
    version = str(seen["version"])
    assert Requirement(requirements()[0]).specifier.contains(version)
    assert seen["projects"] == [project]
    assert seen["runs_before"] == ["before-app"]
    assert seen["loss"] == [1.0, 0.5, 0.25]
    assert seen["runs_after"] == ["before-app", "after-app"]
    assert seen["page"] == [200, True]  # trackio's own dashboard page


def _space_files(hub: str, repo: str) -> dict[str, str]:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub, token=TOKEN)
    out = {}
    for name in ("README.md", "requirements.txt", "app.py"):
        path = api.hf_hub_download(repo, name, repo_type="space")
        out[name] = Path(path).read_text(encoding="utf-8")
    return out


def test_trackio_deploy_and_gator_deploy_agree(
    venv: Path, hub: str, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import HfApi, constants

    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    repo = f"me/both-{venv.name[-6:]}"
    # 1. trackio's own deploy creates the Space the way trackio lays it out.
    version = str(run_driver(venv, tmp_path, "deploy", repo, endpoint=hub)["version"])
    theirs = _space_files(hub, repo)
    ours_dir = staged(tmp_path, repo, hub)
    ours = {name: (ours_dir / name).read_text() for name in theirs}
    their_meta = split(theirs["README.md"]).meta or {}
    our_meta = split(ours["README.md"]).meta or {}
    assert their_meta and {k: our_meta.get(k) for k in their_meta} == their_meta
    their_req, our_req = Requirement(theirs["requirements.txt"].strip()), Requirement(requirements()[0])
    assert (their_req.name, their_req.extras) == (our_req.name, our_req.extras)
    assert str(their_req.specifier) == f"=={version}" and our_req.specifier.contains(version)
    assert "trackio.show(" in theirs["app.py"] and "trackio.show(" in ours["app.py"]
    api = HfApi(endpoint=hub, token=TOKEN)
    assert api.get_space_variables(repo)["GRADIO_MCP_SERVER"].value == "True"

    # 2. gator deploys the template over it: the three files, trackio's settings kept.
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    args = ["space", "deploy", str(tmp_path / "template"), "--repo", repo, "--endpoint", hub]
    args += ["--secret", "HF_TOKEN", "--var", "GRADIO_MCP_SERVER=True"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Uploaded 3 of 3 files" in out and "Variables already set: GRADIO_MCP_SERVER" in out
    assert TOKEN not in out
    head = api.space_info(repo).sha
    assert _space_files(hub, repo) == ours

    # 3. trackio.init(space_id=...) finds the Space and leaves gator's files alone ...
    assert run_driver(venv, tmp_path, "existing", repo, endpoint=hub) == {"created": False}
    assert api.space_info(repo).sha == head
    # 4. ... and a second gator deploy changes nothing.
    assert main(args) == 0
    assert "Nothing to change: all 3 files" in capsys.readouterr().out
    assert api.space_info(repo).sha == head
