"""gator check-pins end to end on small projects: findings, locations, formats, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gator_setup.cli.app import main

OLD_PINS = """[project]
name = "demo"
version = "0.1"
requires-python = ">=3.10"
dependencies = [
    "diffusers>=0.25.0",
    "huggingface_hub>=0.20.0",
]
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str], cwd: Path) -> tuple[int, str, str]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        code = main(
            ["check-pins", "--no-resolve", *args]
        )  # the knowledge-base layer; GTR304: test_resolve.py
    finally:
        os.chdir(old)
    out = capsys.readouterr()
    return code, out.out, out.err


def write(root: Path, name: str, text: str) -> Path:
    p = root / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def findings(capsys: pytest.CaptureFixture[str], cwd: Path, *args: str) -> tuple[int, list[dict]]:  # type: ignore[type-arg]
    code, out, _ = run(["--json", *args], capsys, cwd)
    return code, json.loads(out)["findings"]


def test_old_gator_pins_fail_with_annotation_on_the_diffusers_line(capsys, tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", OLD_PINS)
    code, out, _ = run(["--format", "github"], capsys, tmp_path)
    assert code == 1
    (line,) = [ln for ln in out.splitlines() if ln.startswith("::error")]
    assert line.startswith("::error file=pyproject.toml,line=6,title=GTR301::")
    assert "cached_download" in line and "diffusers>=0.29.0" in line and "huggingface_hub<0.26" in line
    assert "diffusers 0.25.0 + huggingface_hub 0.26.0" in line


def test_applying_the_suggested_fix_passes(capsys, tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", OLD_PINS)
    _, found = findings(capsys, tmp_path)
    fix = found[0]["fix"]
    new = fix.split("to `", 1)[1].split("`", 1)[0]
    assert new == "diffusers>=0.29.0"
    write(tmp_path, "pyproject.toml", OLD_PINS.replace("diffusers>=0.25.0", new))
    code, out, _ = run([], capsys, tmp_path)
    assert code == 0, out
    # The alternative pin clears it too.
    write(
        tmp_path,
        "pyproject.toml",
        OLD_PINS.replace("huggingface_hub>=0.20.0", "huggingface_hub>=0.20.0,<0.26"),
    )
    assert run([], capsys, tmp_path)[0] == 0


def test_json_carries_rule_reproduction_and_location(capsys, tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", OLD_PINS)
    code, (f,) = findings(capsys, tmp_path)
    assert code == 1 and f["check"] == "GTR301" and f["severity"] == "error"
    assert f["location"] == {"path": "pyproject.toml", "line": 6, "column": None}
    assert f["evidence"]["rule"] == "diffusers-hub-cached-download"
    assert "uv pip install" in f["evidence"]["reproduce_with"]


def test_sarif_output(capsys, tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", OLD_PINS)
    code, out, _ = run(["--format", "sarif"], capsys, tmp_path)
    sarif = json.loads(out)
    assert code == 1 and sarif["version"] == "2.1.0"
    assert "GTR301" in out and "pyproject.toml" in out


def test_markers_select_the_environment(capsys, tmp_path: Path) -> None:
    reqs = (
        'diffusers>=0.25.0; python_version < "3.10"\n'
        'diffusers>=0.29.0; python_version >= "3.10"\n'
        "huggingface_hub>=0.20.0\n"
    )
    write(tmp_path, "requirements.txt", reqs)
    code, found = findings(capsys, tmp_path)
    assert code == 1 and found[0]["location"]["line"] == 1
    assert "Python 3.8" in found[0]["evidence"]["admitted_in"]
    # A project that only supports 3.10+ never installs the old line.
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\nversion = "1"\nrequires-python = ">=3.10"\n')
    assert run([], capsys, tmp_path)[0] == 0


def test_extras_and_dependency_groups(capsys, tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\nversion = "1"\ndependencies = ["huggingface_hub>=0.20"]\n'
        '[project.optional-dependencies]\nsd = [\n  "diffusers>=0.29",\n]\nold = [\n  "diffusers>=0.25",\n]\n'
        '[dependency-groups]\ndev = [{include-group = "lint"}]\nlint = ["torch==2.2.0+rocm5.7"]\n',
    )
    code, found = findings(capsys, tmp_path)
    assert code == 1
    by_rule = {f["evidence"]["rule"]: f for f in found}
    assert by_rule["diffusers-hub-cached-download"]["location"]["line"] == 10
    assert "extra:old" in by_rule["diffusers-hub-cached-download"]["message"]
    # torch alone does not make the numpy rule relevant (numpy is not declared).
    assert "torch-numpy2-abi" not in by_rule


def test_includes_and_constraints_narrow_ranges(capsys, tmp_path: Path) -> None:
    write(tmp_path, "base.txt", "# base\ndiffusers>=0.25.0 \\\n    --hash=sha256:abc\nhuggingface_hub\n")
    write(tmp_path, "c.txt", "diffusers>=0.29\n")
    write(tmp_path, "requirements.txt", "-r base.txt\n--index-url https://example.invalid/simple\n")
    code, found = findings(capsys, tmp_path)
    assert code == 1 and found[0]["location"] == {"path": "base.txt", "line": 2, "column": None}
    write(tmp_path, "requirements.txt", "-r base.txt\n-c c.txt\n")
    assert run([], capsys, tmp_path)[0] == 0


def test_duplicates_across_files_intersect_and_report_once(capsys, tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", OLD_PINS)
    write(tmp_path, "requirements.txt", "diffusers>=0.20\nhuggingface_hub>=0.21\n")
    code, found = findings(capsys, tmp_path)
    assert code == 1 and len(found) == 1
    write(tmp_path, "requirements.txt", "diffusers>=0.29.0\n")
    assert run([], capsys, tmp_path)[0] == 0


def test_pep440_oddities(capsys, tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "torch==2.2.0+rocm5.7\nnumpy==2.*\n")
    code, found = findings(capsys, tmp_path)
    assert code == 1 and found[0]["evidence"]["rule"] == "torch-numpy2-abi"
    assert "numpy<2" in found[0]["fix"]
    write(tmp_path, "requirements.txt", "torch==2.2.0+rocm5.7\nnumpy<2\n")
    assert run([], capsys, tmp_path)[0] == 0
    write(tmp_path, "requirements.txt", "diffusers==0.24.*\nhuggingface_hub==1.0.0rc1\n")
    code, found = findings(capsys, tmp_path)
    # 1.0.0rc1 sorts before 1.0.0, so only the verified >=0.26.0 rule covers it.
    assert [f["evidence"]["rule"] for f in found] == ["diffusers-hub-cached-download"]
    assert "huggingface_hub 1.0.0rc1" in found[0]["message"]


def test_lock_files_are_checked_exactly(capsys, tmp_path: Path) -> None:
    write(
        tmp_path,
        "uv.lock",
        'version = 1\n\n[[package]]\nname = "diffusers"\nversion = "0.28.2"\n'
        'dependencies = [\n    { name = "huggingface-hub" },\n]\n\n'
        '[[package]]\nname = "huggingface-hub"\nversion = "0.26.0"\n',
    )
    code, found = findings(capsys, tmp_path, "uv.lock")
    assert code == 1 and found[0]["check"] == "GTR302"
    assert found[0]["location"] == {"path": "uv.lock", "line": 4, "column": None}
    write(
        tmp_path,
        "pylock.toml",
        'lock-version = "1.0"\n[[packages]]\nname = "diffusers"\nversion = "0.29.0"\n'
        '[[packages]]\nname = "huggingface-hub"\nversion = "0.26.0"\n',
    )
    assert run(["pylock.toml"], capsys, tmp_path)[0] == 0
    write(
        tmp_path,
        "poetry.lock",
        '[[package]]\nname = "torch"\nversion = "2.2.2"\n\n[[package]]\nname = "numpy"\nversion = "2.1.0"\n',
    )
    code, found = findings(capsys, tmp_path, "poetry.lock")
    assert code == 1 and found[0]["location"]["line"] == 2


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "requirements.txt",
            "diffusers>=0.25\ntorch>=>2\n",
            "requirements.txt:2: invalid requirement 'torch>=>2'",
        ),
        (
            "pyproject.toml",
            '[project]\ndependencies = ["diffusers>=0.2.5.*"]\n',
            "pyproject.toml:2: invalid requirement",
        ),
        ("pyproject.toml", "[project\nname = 1\n", "pyproject.toml:1: invalid TOML"),
        (
            "uv.lock",
            '[[package]]\nname = "torch"\nversion = "two"\n',
            "uv.lock:2: invalid version 'two' for torch",
        ),
        ("requirements.txt", "-r missing.txt\n", "requirements.txt:1: included file 'missing.txt' not found"),
    ],
)
def test_malformed_input_is_one_line_exit_2(
    capsys, tmp_path: Path, name: str, text: str, expected: str
) -> None:
    write(tmp_path, name, text)
    code, out, err = run([name], capsys, tmp_path)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and expected in err, err


def test_no_files_found_is_exit_2(capsys, tmp_path: Path) -> None:
    code, _, err = run([], capsys, tmp_path)
    assert code == 2 and "no pyproject.toml" in err


def test_missing_profile_is_skipped_with_a_note(capsys, tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "diffusers>=0.29\n")
    code, out, _ = run(["--profile", "no-such-profile"], capsys, tmp_path)
    assert code == 0 and "constraints/no-such-profile.txt not found" in out


def test_profile_constraints_narrow_and_conflict(capsys, tmp_path: Path) -> None:
    write(tmp_path, "constraints/rocm.txt", "torch==2.2.0+rocm5.7\nnumpy<2\n")
    write(tmp_path, "requirements.txt", "torch>=2.1\nnumpy>=1.24\n")
    # Without the profile, torch>=2.1 with numpy>=1.24 admits the numpy-2 break; numpy<2 removes it.
    assert run([], capsys, tmp_path)[0] == 1
    assert run(["--profile", "rocm"], capsys, tmp_path)[0] == 0
    write(tmp_path, "requirements.txt", "torch>=2.4\n")
    code, found = findings(capsys, tmp_path, "--profile", "rocm")
    assert code == 1 and found[0]["check"] == "GTR303" and "torch==2.2.0+rocm5.7" in found[0]["message"]
