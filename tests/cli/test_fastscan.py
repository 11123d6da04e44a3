"""The Typer-free `gator scan` path: same output, exit code and errors as the Typer command, and
anything unusual handed to Typer."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from gator_setup.cli import app, entry
from gator_setup.cli.fastscan import parse_scan_args


def test_parse_plain_forms() -> None:
    got = parse_scan_args(
        ["src", "--hub-version", "1.0.0", "--exclude=a/*", "--exclude", "b", "-f", "sarif", "x.py", "-v"]
    )
    assert got is not None
    assert got["paths"] == ["src", "x.py"] and got["exclude"] == ["a/*", "b"]
    assert (got["hub_version"], got["fmt"], got["verbose"], got["json_"], got["strict"]) == (
        "1.0.0", "sarif", True, False, False,
    )  # fmt: skip
    assert parse_scan_args(["a", "--format=json", "--format", "github"])["fmt"] == "github"  # type: ignore[index]


@pytest.mark.parametrize(
    "args",
    [
        [],  # no path
        ["--help"],
        ["src", "--help"],
        ["src", "--"],
        ["src", "--unknown"],
        ["src", "-fjson"],
        ["src", "-vf", "json"],
        ["src", "--format", "xml"],
        ["src", "--python"],  # value missing
        ["src", "--python", "--json"],
        ["src", "--python="],
        ["src", "--json=1"],
        ["-"],
    ],
)
def test_unusual_forms_go_to_typer(args: list[str]) -> None:
    assert parse_scan_args(args) is None


def _untimed(out: str) -> str:
    return re.sub(r'"seconds": [0-9.e-]+', '"seconds": 0', out)


def _tree(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "ok.py").write_text("from huggingface_hub import hf_hub_download\n")
    (tmp_path / "bad.py").write_text("from huggingface_hub import not_a_hub_name_at_all\n")
    (tmp_path / "skip").mkdir()
    (tmp_path / "skip" / "s.py").write_text("from huggingface_hub import also_not_there\n")
    return tmp_path


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--json"],
        ["--format", "github", "--strict"],
        ["-f", "sarif", "--exclude", "skip"],
        ["--exclude=skip", "-v"],
        ["--python", "/no/such/python"],
        ["--hub-version", "not-a-version"],
        ["MISSING"],
        ["--help"],
        ["--format", "xml"],
    ],
)
def test_same_result_as_the_typer_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, extra: list[str]
) -> None:
    tree = _tree(tmp_path / "t")
    monkeypatch.chdir(tmp_path)
    args = ["scan", str(tree), *extra]
    fast = entry.main(args)
    fast_out = capsys.readouterr()
    slow = app.main(args)
    slow_out = capsys.readouterr()
    assert (fast, _untimed(fast_out.out), fast_out.err) == (slow, _untimed(slow_out.out), slow_out.err)
    assert fast in (0, 1, 2)


def test_fast_path_does_not_import_typer(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t")
    code = (
        "import sys; from gator_setup.cli.entry import main; rc = main(['scan', sys.argv[1], '--json']);"
        "assert 'typer' not in sys.modules and 'click' not in sys.modules, 'typer imported'; sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tree)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert '"schema_version"' in proc.stdout
