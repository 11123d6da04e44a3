"""The doctor CLI: exit codes, JSON schema, formats, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gator_setup.cli.app import main


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_doctor_json_schema(capsys, tmp_path: Path) -> None:
    code, out, _ = run(["doctor", "--json", "--project", str(tmp_path)], capsys)
    data = json.loads(out)
    assert data["schema_version"] == 1
    assert {"findings", "summary", "checks", "context"} <= set(data)
    assert {"errors", "warnings", "info", "checks_run", "checks_passed", "checks_skipped"} == set(
        data["summary"]
    )
    assert code == (1 if data["summary"]["errors"] else 0)
    for f in data["findings"]:
        assert {"check", "severity", "message", "packages", "fix"} <= set(f)


def test_unknown_check_code_is_usage_error(capsys, tmp_path: Path) -> None:
    code, _, err = run(["doctor", "--only", "GTR999", "--project", str(tmp_path)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "GTR999" in err


def test_missing_interpreter_is_one_line_exit_2(capsys, tmp_path: Path) -> None:
    code, _out, err = run(["doctor", "--python", str(tmp_path / "nope"), "--project", str(tmp_path)], capsys)
    assert code == 2 and "Traceback" not in err and err.strip().count("\n") == 0


def test_unknown_settings_key_is_one_line_exit_2(capsys, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.gator]\nbogus = 1\n")
    code, _, err = run(["doctor", "--project", str(tmp_path)], capsys)
    assert code == 2 and "bogus" in err


def test_github_format(capsys, tmp_path: Path) -> None:
    _code, out, _ = run(["doctor", "--format", "github", "--project", str(tmp_path)], capsys)
    assert out.strip().splitlines()[-1].startswith("gator doctor:")


def test_checks_lists_codes(capsys) -> None:
    code, out, _ = run(["checks"], capsys)
    assert code == 0 and "GTR100" in out


def test_module_entry_point_and_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "gator_setup", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for command in ("doctor", "checks"):
        assert command in proc.stdout


def test_legacy_script_rejects_unknown_flags() -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, str(root / "setup_ai_models.py"), "--frobnicate"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "gator --help" in proc.stderr and "Traceback" not in proc.stderr
