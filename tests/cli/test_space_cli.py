"""`gator space` through the CLI without a server: dry run, templates, one-line errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gator_setup.cli.app import main

TOKEN = "hf_cli_test_token_never_printed"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    root.mkdir()
    (root / "app.py").write_text("import gradio as gr\nTITLE = '{SPACE_ID}'\n")
    (root / ".env").write_text(f"HF_TOKEN={TOKEN}\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    return root


def test_dry_run_lists_files_and_touches_nothing(demo: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("API_KEY", "value-must-not-show")
    before = sorted(p.relative_to(demo).as_posix() for p in demo.rglob("*"))
    # Port with nothing listening: any network call would fail the run.
    code, out, err = run(
        [
            "space",
            "deploy",
            str(demo),
            "--repo",
            "me/demo",
            "--dry-run",
            "--secret",
            "API_KEY",
            "--var",
            "MODE=fast-mode",
            "--endpoint",
            f"http://127.0.0.1:{free_port()}",
        ],
        capsys,
    )
    assert code == 0, err
    assert "Dry run: nothing was created or uploaded." in out
    assert "app.py" in out and "placeholders filled" in out
    assert "README.md" in out and "front matter written" in out
    assert ".env" in out.split("Ignored:")[1] and ".pyc" not in out.split("Ignored:")[0]
    assert "API_KEY" in out and "MODE" in out
    for hidden in (TOKEN, "value-must-not-show", "fast-mode"):
        assert hidden not in out + err
    assert sorted(p.relative_to(demo).as_posix() for p in demo.rglob("*")) == before
    assert (demo / "app.py").read_text() == "import gradio as gr\nTITLE = '{SPACE_ID}'\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--repo", "not-an-id"], "OWNER/NAME"),
        (["--repo", "me/demo", "--sdk", "flask"], "--sdk"),
        (["--repo", "me/demo", "--sdk", "docker"], "Dockerfile"),
        (["--repo", "me/demo", "--secret", "UNSET_SECRET_X"], "UNSET_SECRET_X"),
        (["--repo", "me/demo", "--var", "NOVALUE"], "KEY=VALUE"),
    ],
)
def test_bad_options_one_line_exit_2(demo: Path, capsys, args: list[str], needle: str) -> None:
    code, _out, err = run(["space", "deploy", str(demo), *args], capsys)
    assert code == 2 and needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_empty_and_appless_folders(tmp_path: Path, capsys) -> None:
    code, _, err = run(["space", "deploy", str(tmp_path / "nope"), "--repo", "me/demo"], capsys)
    assert code == 2 and "no such folder" in err and err.count("\n") == 1
    (tmp_path / "empty" / ".git").mkdir(parents=True)
    code, _, err = run(["space", "deploy", str(tmp_path / "empty"), "--repo", "me/demo"], capsys)
    assert code == 2 and "no files to upload" in err
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.py").write_text("x = 1\n")
    code, _, err = run(
        ["space", "deploy", str(tmp_path / "lib"), "--repo", "me/demo", "--sdk", "gradio"], capsys
    )
    assert code == 2 and "app.py" in err


def test_no_token_and_unreachable_endpoint(demo: Path, capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # no stored token either
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(["space", "deploy", str(demo), "--repo", "me/demo", "--endpoint", url], capsys)
    assert code == 2 and "No Hugging Face token" in err and "HF_TOKEN" in err
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    code, out, err = run(["space", "deploy", str(demo), "--repo", "me/demo", "--endpoint", url], capsys)
    assert code == 2 and f"Cannot reach {url}" in err and err.count("\n") == 1
    assert TOKEN not in out + err


def test_template_then_dry_run(tmp_path: Path, capsys) -> None:
    code, out, _ = run(["space", "template", "trackio", str(tmp_path / "dash")], capsys)
    assert code == 0 and "app.py" in out
    assert 'trackio.init(project="NAME", space_id="OWNER/NAME")' in out  # what to do once deployed
    code, out, err = run(
        ["space", "deploy", str(tmp_path / "dash"), "--repo", "me/dash", "--dry-run"], capsys
    )
    assert code == 0, err
    assert "sdk gradio" in out and "front matter written" not in out
    code, _, err = run(["space", "template", "nope", str(tmp_path / "x")], capsys)
    assert code == 2 and "trackio" in err


def test_space_help_lists_commands(capsys) -> None:
    code, out, _ = run(["space", "--help"], capsys)
    assert code == 0 and "deploy" in out and "template" in out
    code, out, _ = run(["space", "deploy", "--help"], capsys)
    assert code == 0 and "--dry-run" in out and "--secret" in out


def test_cli_start_does_not_import_the_hub_client() -> None:
    import subprocess
    import sys

    code = (
        "import sys, gator_setup.cli.app; "
        "print([m for m in ('huggingface_hub', 'yaml', 'gator_setup.spaces.hub') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_dry_run_json(demo: Path, capsys, monkeypatch) -> None:
    import json

    monkeypatch.setenv("API_KEY", "value-must-not-show")
    args = ["space", "deploy", str(demo), "--repo", "me/demo", "--dry-run", "--json", "--secret", "API_KEY"]
    code, out, err = run(args, capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["schema_version"] == 1 and data["dry_run"] is True and data["commit"] is None
    assert [f["path"] for f in data["files"]] == ["README.md", "app.py"]
    assert data["files"][1]["placeholders_filled"] is True and data["files"][0]["generated"] is True
    assert data["secrets"] == ["API_KEY"] and "value-must-not-show" not in out


def test_secret_prompt_only_at_a_terminal(monkeypatch) -> None:
    import getpass
    import io

    from gator_setup.cli.space import _secret_source

    monkeypatch.delenv("PROMPTED_KEY", raising=False)
    prompts: list[str] = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt: prompts.append(prompt) or "typed-value")

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", io.StringIO())
    assert _secret_source("PROMPTED_KEY") is None and prompts == []
    monkeypatch.setattr("sys.stdin", Tty())
    assert _secret_source("PROMPTED_KEY") == "typed-value"
    assert prompts == ["Value for secret PROMPTED_KEY (hidden): "]
    monkeypatch.setenv("PROMPTED_KEY", "from-env")
    assert _secret_source("PROMPTED_KEY") == "from-env" and len(prompts) == 1
