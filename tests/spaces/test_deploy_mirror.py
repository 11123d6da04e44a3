"""`gator space deploy` against a real `gator mirror` on 127.0.0.1 with the real huggingface_hub client."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from mirror_server import start_mirror

from gator_setup.cli.app import main

WRITE = "me-write-token-0001"
READ = "me-read-token-00002"
OTHER = "other-write-token-3"
UNKNOWN = "not-a-known-token-4"
ALL_TOKENS = (WRITE, READ, OTHER, UNKNOWN)
SECRET_VALUE = "s3cret-value-never-shown"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    d = tmp_path_factory.mktemp("space-hub")
    tokens = d / "tokens"
    tokens.write_text(
        f"{WRITE} me write\n{READ} me read\n{OTHER} other write\n"
        "org team me:write\norg viewers me:read\norg admins me:admin other:read\n"
    )
    server = start_mirror(d / "store", tokens_file=tokens)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def no_stored_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only HF_TOKEN counts: a token saved by `hf auth login` on this machine must not leak in."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def make_demo(root: Path) -> Path:
    files = {
        "app.py": "import gradio as gr\nTITLE = 'Demo {SPACE_ID}'\ngr.Interface(str, 'text', 'text')\n",
        "requirements.txt": "gradio\n",
        "README.md": "# Demo\n\nLive at {SPACE_URL}\n",
        "static/notes.txt": "owner={SPACE_OWNER} name={SPACE_NAME}\n",
        ".env": f"HF_TOKEN={WRITE}\n",
        "__pycache__/app.cpython-311.pyc": "junk",
        ".git/config": "[core]\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "weights.bin").write_bytes(
        b"\0{SPACE_ID}" + bytes(range(256))
    )  # binary: never filled, LFS suffix
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def deploy(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["space", "deploy", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def space_files(url: str, repo: str, dest: Path) -> dict[str, bytes]:
    from huggingface_hub import snapshot_download

    path = snapshot_download(repo, repo_type="space", endpoint=url, token=WRITE, cache_dir=str(dest))
    return snapshot(Path(path))


def head(url: str, repo: str) -> str | None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=url, token=WRITE)
    return api.space_info(repo).sha if api.repo_exists(repo, repo_type="space") else None


def assert_no_token(*texts: str) -> None:
    for text in texts:
        for secret in (*ALL_TOKENS, SECRET_VALUE):
            assert secret not in text


def test_deploy_roundtrip_settings_and_incremental(
    hub: str, tmp_path: Path, capsys, caplog, monkeypatch, no_stored_token
) -> None:
    caplog.set_level(logging.DEBUG)
    demo = make_demo(tmp_path / "demo")
    before = snapshot(demo)
    monkeypatch.setenv("HF_TOKEN", WRITE)
    monkeypatch.setenv("API_KEY", SECRET_VALUE)
    args = [
        str(demo),
        "--repo",
        "me/roundtrip",
        "--endpoint",
        hub,
        "--var",
        "MODE=demo",
        "--secret",
        "API_KEY",
        "--private",
    ]
    code, out, err = deploy(args, capsys)
    assert code == 0, err
    first = head(hub, "me/roundtrip")
    assert f"Space: {hub}/spaces/me/roundtrip" in out and f"in commit {first}" in out
    assert_no_token(out, err, caplog.text)
    assert snapshot(demo) == before  # the user's folder is untouched

    got = space_files(hub, "me/roundtrip", tmp_path / "dl1")
    space_url = f"{hub}/spaces/me/roundtrip"
    assert sorted(got) == ["README.md", "app.py", "requirements.txt", "static/notes.txt", "weights.bin"]
    assert got["app.py"] == before["app.py"].replace(b"{SPACE_ID}", b"me/roundtrip")
    assert got["static/notes.txt"] == b"owner=me name=roundtrip\n"
    assert got["weights.bin"] == before["weights.bin"]
    readme = got["README.md"].decode()
    assert readme.startswith("---\n") and "sdk: gradio\n" in readme and "app_file: app.py\n" in readme
    assert readme.endswith(f"# Demo\n\nLive at {space_url}\n")

    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub, token=WRITE)
    assert api.space_info("me/roundtrip").private is True
    assert api.get_space_variables("me/roundtrip")["MODE"].value == "demo"
    req = urllib.request.Request(
        f"{hub}/api/spaces/me/roundtrip/secrets", headers={"authorization": f"Bearer {WRITE}"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert "API_KEY" in json.loads(resp.read())

    # Same folder again: no commit.
    code, out, err = deploy(args, capsys)
    assert code == 0 and "Nothing to change" in out, err
    assert "Variables already set: MODE" in out and "Variables set:" not in out
    assert head(hub, "me/roundtrip") == first

    # One file changed: one file uploaded, the rest left as is.
    (demo / "requirements.txt").write_text("gradio>=4\n")
    code, out, err = deploy(args, capsys)
    assert code == 0 and "Uploaded 1 of 5 files" in out, err
    assert head(hub, "me/roundtrip") != first
    assert space_files(hub, "me/roundtrip", tmp_path / "dl2")["requirements.txt"] == b"gradio>=4\n"
    code, out, err = deploy([*args, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["nothing_to_change"] is True and data["commit"] is None, err
    assert data["user"] == "me" and not any(f["changed"] for f in data["files"])
    assert data["variables"] == ["MODE"] and data["variables_changed"] == []

    # A file removed locally stays on the Space and is reported, not deleted.
    (demo / "static" / "notes.txt").unlink()
    code, out, err = deploy(args, capsys)
    assert code == 0 and "Left on the Space (not in the folder): static/notes.txt" in out, err
    assert "Nothing to change" in out
    assert_no_token(out, err, caplog.text)

    # A new value for a variable, same files: the variable is set, no commit is made.
    before_var = head(hub, "me/roundtrip")
    code, out, err = deploy([*args[:5], "--var", "MODE=prod", *args[7:]], capsys)
    assert code == 0 and "Variables set: MODE" in out and "no commit" in out, err
    assert "Nothing to change" not in out and head(hub, "me/roundtrip") == before_var
    assert api.get_space_variables("me/roundtrip")["MODE"].value == "prod"


@pytest.mark.parametrize(
    ("token", "repo", "needle"),
    [
        (UNKNOWN, "me/denied", "401 Unauthorized"),
        (READ, "me/denied", "read-only"),
        (WRITE, "other/denied", "may not write to the namespace 'other'"),
        (WRITE, "viewers/denied", "namespace 'viewers' (member of: admins, team, viewers)"),
    ],
)
def test_refused_tokens_create_nothing(
    hub: str, tmp_path: Path, capsys, caplog, monkeypatch, no_stored_token, token: str, repo: str, needle: str
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HF_TOKEN", token)
    code, out, err = deploy([str(make_demo(tmp_path)), "--repo", repo, "--endpoint", hub], capsys)
    assert code == 2 and needle in err and err.count("\n") == 1
    assert "settings/tokens" in err or "--repo me/NAME" in err
    assert_no_token(out, err, caplog.text)
    assert head(hub, repo) is None


def test_bad_input_creates_nothing(hub: str, tmp_path: Path, capsys, monkeypatch, no_stored_token) -> None:
    monkeypatch.setenv("HF_TOKEN", WRITE)
    (tmp_path / "empty").mkdir()
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "util.py").write_text("x = 1\n")
    cases = [
        ([str(tmp_path / "missing"), "--repo", "me/bad1"], "no such folder"),
        ([str(tmp_path / "empty"), "--repo", "me/bad2"], "no files to upload"),
        ([str(lib), "--repo", "me/bad3", "--sdk", "gradio"], "app.py"),
        ([str(lib), "--repo", "me/bad4"], "Cannot tell which SDK"),
        ([str(make_demo(tmp_path / "d")), "--repo", "me/bad--5"], "OWNER/NAME"),
    ]
    for args, needle in cases:
        code, _out, err = deploy([*args, "--endpoint", hub], capsys)
        assert code == 2 and needle in err and err.count("\n") == 1, (args, err)
    for n in range(1, 5):
        assert head(hub, f"me/bad{n}") is None


def test_done_when_cli_twice(hub: str, tmp_path: Path) -> None:
    """The issue's acceptance run, as a user types it: a fresh `gator` process each time."""
    demo = make_demo(tmp_path / "demo")
    env = {
        **os.environ,
        "HF_TOKEN": WRITE,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    cmd = [
        sys.executable,
        "-m",
        "gator_setup",
        "space",
        "deploy",
        str(demo),
        "--repo",
        "me/demo",
        "--endpoint",
        hub,
    ]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"{hub}/spaces/me/demo" in first.stdout and "Uploaded 5 of 5 files" in first.stdout
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "Nothing to change" in second.stdout
    assert_no_token(first.stdout, first.stderr, second.stdout, second.stderr)
    got = space_files(hub, "me/demo", tmp_path / "dl")
    assert got["app.py"].startswith(b"import gradio as gr\nTITLE = 'Demo me/demo'")


def test_deploy_into_write_org(hub: str, tmp_path: Path, capsys, monkeypatch, no_stored_token) -> None:
    """whoami-v2 lists `team` with roleInOrg write: the deployer's check and the server both let it in."""
    monkeypatch.setenv("HF_TOKEN", WRITE)
    code, out, err = deploy(
        [str(make_demo(tmp_path / "demo")), "--repo", "team/orgdemo", "--endpoint", hub], capsys
    )
    assert code == 0 and f"Space: {hub}/spaces/team/orgdemo" in out, err
    got = space_files(hub, "team/orgdemo", tmp_path / "dl")
    assert got["static/notes.txt"] == b"owner=team name=orgdemo\n"
    assert_no_token(out, err)


@pytest.fixture
def no_precheck(monkeypatch: pytest.MonkeyPatch) -> None:
    """gator's own whoami check passes everything, so only the server stands in the way."""
    from gator_setup.spaces.hub import Hub, Identity

    monkeypatch.setattr(Hub, "check_can_write", lambda self, space: Identity("me", (), (), "write"))


def test_server_refuses_foreign_namespace_without_client_check(
    hub: str, tmp_path: Path, no_stored_token, no_precheck
) -> None:
    from huggingface_hub import HfApi

    from gator_setup.spaces.deploy import DeployOptions
    from gator_setup.spaces.deploy import deploy as run_deploy
    from gator_setup.spaces.errors import NamespaceForbiddenError

    demo = make_demo(tmp_path / "demo")
    # A new Space in a stranger's namespace: repos/create answers 403.
    with pytest.raises(NamespaceForbiddenError, match="'other'"):
        run_deploy(DeployOptions(demo, "other/bypass", endpoint=hub, token=WRITE))
    assert head(hub, "other/bypass") is None
    # An existing Space of `other`: create_repo(exist_ok) passes, but variables and commits get 403.
    theirs = HfApi(endpoint=hub, token=OTHER)
    theirs.create_repo("other/theirs", repo_type="space", space_sdk="static")
    theirs.upload_file(
        path_or_fileobj=b"<p>hi</p>", path_in_repo="index.html", repo_id="other/theirs", repo_type="space"
    )
    before = head(hub, "other/theirs")
    for extra in (("--var", "MODE=x"), ()):
        opts = DeployOptions(demo, "other/theirs", endpoint=hub, token=WRITE, variables=extra[1:])
        with pytest.raises(NamespaceForbiddenError, match="'other'"):
            run_deploy(opts)
    assert head(hub, "other/theirs") == before
    assert theirs.get_space_variables("other/theirs") == {}


@pytest.fixture(scope="module")
def open_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`gator mirror serve` without --tokens: open development mode, any token writes anywhere."""
    server = start_mirror(tmp_path_factory.mktemp("open-hub") / "store")
    try:
        yield server.url
    finally:
        server.stop()


def test_open_mode_mirror_takes_any_namespace(
    open_hub: str, tmp_path: Path, capsys, monkeypatch, no_stored_token
) -> None:
    """Issue 19 item 8: the pre-check no longer refuses what the open-mode server accepts."""
    monkeypatch.setenv("HF_TOKEN", UNKNOWN)
    demo = make_demo(tmp_path / "demo")
    for repo in ("me/demo", "acme/demo", "dev/demo"):
        code, out, err = deploy([str(demo), "--repo", repo, "--endpoint", open_hub], capsys)
        assert code == 0 and f"Space: {open_hub}/spaces/{repo}" in out, (repo, err)
        owner, name = repo.split("/")
        notes = space_files(open_hub, repo, tmp_path / f"dl-{owner}")["static/notes.txt"]
        assert notes == f"owner={owner} name={name}\n".encode()
        code, out, err = deploy([str(demo), "--repo", repo, "--endpoint", open_hub], capsys)
        assert code == 0 and "Nothing to change" in out, err
        assert_no_token(out, err)


def _precheck(url: str, token: str, repo: str) -> str:
    """gator's verdict before any write: 'ok' or the HTTP status its error stands for."""
    from gator_setup.spaces.errors import NamespaceForbiddenError, TokenReadOnlyError, TokenRejectedError
    from gator_setup.spaces.hub import Hub
    from gator_setup.spaces.naming import parse_space_id

    try:
        Hub(url, token).check_can_write(parse_space_id(repo))
    except TokenRejectedError:
        return "401"
    except (NamespaceForbiddenError, TokenReadOnlyError):
        return "403"
    return "ok"


def _server(url: str, token: str, repo: str) -> str:
    """The server's own verdict on creating the Space, asked without gator in between."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    try:
        HfApi(endpoint=url, token=token).create_repo(repo, repo_type="space", space_sdk="static")
    except HfHubHTTPError as exc:
        return str(exc.response.status_code)
    return "ok"


@pytest.mark.parametrize(
    ("token", "owner"),
    [
        (WRITE, "me"),  # own namespace
        (WRITE, "team"),  # org, role write
        (WRITE, "admins"),  # org, role admin
        (WRITE, "viewers"),  # org, role read
        (WRITE, "other"),  # another user
        (WRITE, "nobody"),  # a namespace nobody has
        (OTHER, "admins"),  # org where this user only reads
        (READ, "me"),  # read-only token, own namespace
        (READ, "team"),
        (UNKNOWN, "me"),  # a token the tokens file does not know
    ],
)
def test_precheck_gives_the_servers_answer(hub: str, no_stored_token, token: str, owner: str) -> None:
    """With a tokens file, gator refuses exactly what the mirror refuses (each Space is new)."""
    repo = f"{owner}/agree-{ALL_TOKENS.index(token)}"
    verdict = _precheck(hub, token, repo)
    assert verdict == _server(hub, token, repo), (token, repo)


@pytest.mark.parametrize("owner", ["me", "acme", "dev"])
def test_precheck_agrees_in_open_mode(open_hub: str, no_stored_token, owner: str) -> None:
    repo = f"{owner}/agree-open"
    assert _precheck(open_hub, UNKNOWN, repo) == _server(open_hub, UNKNOWN, repo) == "ok"


def test_trackio_template_deploys_then_changes_nothing(
    hub: str, tmp_path: Path, capsys, caplog, monkeypatch, no_stored_token
) -> None:
    """Issue 21's acceptance run on the mirror: template, deploy, deploy again; trackio's settings survive."""
    caplog.set_level(logging.DEBUG)
    folder = tmp_path / "tracks"
    assert main(["space", "template", "trackio", str(folder)]) == 0
    capsys.readouterr()
    monkeypatch.setenv("HF_TOKEN", WRITE)  # also the Space's HF_TOKEN secret, as trackio's deploy sets it
    args = [str(folder), "--repo", "me/tracks", "--endpoint", hub, "--secret", "HF_TOKEN"]
    args += ["--var", "GRADIO_MCP_SERVER=True"]
    code, out, err = deploy(args, capsys)
    assert code == 0 and "Uploaded 3 of 3 files" in out and "Secrets set: HF_TOKEN" in out, err
    first = head(hub, "me/tracks")
    got = space_files(hub, "me/tracks", tmp_path / "dl")
    assert sorted(got) == ["README.md", "app.py", "requirements.txt"]
    assert got["requirements.txt"] == (folder / "requirements.txt").read_bytes()
    assert b'space_id="me/tracks"' in got["README.md"] and b"trackio.show(" in got["app.py"]

    from huggingface_hub import HfApi

    # What trackio.init(space_id="me/tracks") does to an existing Space (trackio's
    # deploy._ensure_bucket_mounted_at_data): mount a bucket at /data (the mirror has no volumes API)
    # and point TRACKIO_DIR there. gator leaves both alone.
    api = HfApi(endpoint=hub, token=WRITE)
    api.add_space_variable("me/tracks", "TRACKIO_DIR", "/data/trackio")
    api.add_space_variable("me/tracks", "TRACKIO_BUCKET_ID", "me/tracks-bucket")
    code, out, err = deploy(args, capsys)
    assert code == 0 and "Nothing to change: all 3 files" in out, err
    assert head(hub, "me/tracks") == first
    found = {k: v.value for k, v in api.get_space_variables("me/tracks").items()}
    assert found == {
        "GRADIO_MCP_SERVER": "True",
        "TRACKIO_DIR": "/data/trackio",
        "TRACKIO_BUCKET_ID": "me/tracks-bucket",
    }
    assert_no_token(out, err, caplog.text)
