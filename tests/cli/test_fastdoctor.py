"""The Typer-free `gator doctor` path: same output, exit code and errors as the Typer command, and
anything unusual handed to Typer."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from gator_setup.cli import app, entry
from gator_setup.cli.fastdoctor import parse_doctor_args


def test_parse_plain_forms() -> None:
    got = parse_doctor_args(
        ["--python", "/v", "--only=GTR101,GTR100", "--only", "gtr110", "-f", "json", "--deep", "-v"]
    )
    assert got is not None
    assert got["python"] == "/v" and got["only"] == ["GTR101,GTR100", "gtr110"]
    assert (got["fmt"], got["deep"], got["verbose"], got["json_"], got["strict"]) == (
        "json", True, True, False, False,
    )  # fmt: skip
    assert parse_doctor_args(["--format=json", "--format", "github"])["fmt"] == "github"  # type: ignore[index]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["extra"],  # the doctor takes no positional argument
        ["--what-if", "huggingface_hub==0.26.0"],
        ["--"],
        ["--unknown"],
        ["-fjson"],
        ["--format", "xml"],
        ["--python"],  # value missing
        ["--python", "--json"],
        ["--profile="],
        ["--deep=1"],
    ],
)
def test_unusual_forms_go_to_typer(args: list[str]) -> None:
    assert parse_doctor_args(args) is None


def _stable(out: str) -> str:
    return re.sub(r'"seconds": [0-9.e-]+', '"seconds": 0', out)


@pytest.mark.parametrize(
    "extra",
    [
        ["--only", "GTR100,GTR001"],
        ["--only", "GTR101", "--json"],
        ["--skip=GTR200", "--only", "GTR100", "--format", "github", "--strict"],
        ["--only", "GTR100", "-f", "sarif", "-v"],
        ["--python", "/no/such/python"],
        ["--profile", "no-such-profile"],
        ["--project", "proj/", "--only", "GTR101"],
        ["--only", "GTR100", "--format", "xml"],
        ["--help"],
    ],
)
def test_same_result_as_the_typer_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, extra: list[str]
) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "main.py").write_text("from huggingface_hub import not_a_hub_name_at_all\n")
    monkeypatch.chdir(tmp_path)
    args = ["doctor", *extra]
    fast = entry.main(args)
    fast_out = capsys.readouterr()
    slow = app.main(args)
    slow_out = capsys.readouterr()
    assert (fast, _stable(fast_out.out), fast_out.err) == (slow, _stable(slow_out.out), slow_out.err)
    assert fast in (0, 1, 2)


def test_fast_path_does_not_import_typer(tmp_path: Path) -> None:
    code = (
        "import sys; from gator_setup.cli.entry import main;"
        "rc = main(['doctor', '--only', 'GTR100', '--json']);"
        "assert 'typer' not in sys.modules and 'click' not in sys.modules, 'typer imported'; sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert '"schema_version"' in proc.stdout
