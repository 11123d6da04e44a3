"""The text report at a glance: wrapped with hanging indents, skips collapsed, what's here, next step."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gator_setup.findings import CheckResult, Finding, Severity
from gator_setup.report.model import Report
from gator_setup.report.text import Line, render_text, wrap

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

FIX = (
    'pip install "diffusers>=0.29.0"  (a newer release no longer imports it), '
    'or pip install "huggingface-hub<0.26.0".'
)


def _report(packages: dict[str, str | None] | None = None) -> Report:
    broken = Finding(
        "GTR101",
        Severity.ERROR,
        "`import diffusers` fails: diffusers 0.25.0 imports `cached_download` from `huggingface_hub` "
        "(diffusers/utils/dynamic_modules_utils.py:28), which huggingface-hub 0.26.0 does not export",
        fix=FIX,
    )
    context: dict[str, object] = {
        "headline": "gator doctor · Python 3.11.7 (/x/.venv/bin/python) · 72 distributions"
    }
    if packages is not None:
        context["interpreter"] = {"version": "3.11.7", "venv": True}
        context["packages"] = packages
        context["platform"] = {"gpus": [], "torch": {"kind": "cpu"}}
    return Report(
        "doctor",
        [
            CheckResult("GTR101", "Names imported from watched providers exist", "imports", [broken]),
            CheckResult(
                "GTR200",
                "GPUs and drivers are detected",
                "platform",
                [Finding("GTR200", Severity.INFO, "No GPU found: torch will run on the CPU.")],
            ),
            CheckResult("GTR203", "System ROCm matches", "platform", [], skipped="no AMD GPU found"),
            CheckResult(
                "GTR205", "User can open the GPU device nodes", "platform", [], skipped="no AMD GPU found"
            ),
            CheckResult(
                "GTR310", "Machine matches the profile", "profile", [], skipped="no profile selected"
            ),
            CheckResult("GTR100", "Declared requirements are satisfied", "packages", []),
        ],
        context=context,
    )


@pytest.mark.parametrize("width", [60, 80, 100, 160])
def test_wrapped_to_width_with_hanging_indent_and_whole_words(width: int) -> None:
    text = render_text(_report(), color=False, width=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    words = set(text.split())
    for word in FIX.split():
        assert word in words, word  # never cut inside a word
    fix_at = next(i for i, line in enumerate(lines) if "fix: " in line)
    indent = lines[fix_at].index("fix: ")
    if width < len(FIX) + indent + 5:  # continuation lines hang under the text, not at column 0
        assert lines[fix_at + 1].startswith(" " * (indent + 5))


def test_code_spans_stay_on_one_line_when_they_fit() -> None:
    line = Line(
        "", "    fix: change `diffusers>=0.25.0` to `diffusers >= 0.29.0, != 0.35.0` (requirements.txt:1)", 9
    )
    out = wrap(line, 50)
    assert any("`diffusers >= 0.29.0, != 0.35.0`" in part for part in out), out
    assert all(len(part) <= 50 for part in out)


def test_skips_are_one_line_per_reason_unless_verbose() -> None:
    text = render_text(_report(), color=False, width=100)
    skip_lines = [line for line in text.splitlines() if line.startswith("  - ")]
    assert skip_lines == [
        "  - GTR203, GTR205 skipped: no AMD GPU found",
        "  - GTR310 skipped: no profile selected",
    ]
    verbose = render_text(_report(), color=False, width=100, verbose=True)
    assert verbose.count("(skipped: no AMD GPU found)") == 2 and "GTR203, GTR205" not in verbose


def test_info_only_check_has_no_tick() -> None:
    text = render_text(_report(), color=False, width=100)
    assert "  i GTR200 GPUs and drivers are detected" in text
    assert "✓ GTR200" not in text and "GTR200" not in text.split("passed:")[1].split("\n")[0]
    verbose = render_text(_report(), color=False, width=100, verbose=True)
    assert "✓ GTR200" not in verbose and "✓ GTR100 Declared requirements are satisfied" in verbose


def test_checks_that_passed_quietly_are_one_line_unless_verbose() -> None:
    text = render_text(_report(), color=False, width=100)
    (line,) = [line for line in text.splitlines() if "passed:" in line and "checks:" not in line]
    assert line.startswith("✓ passed: ") and "GTR100" in line and "(-v shows each)" in line
    assert "Declared requirements are satisfied" not in text


def test_summary_counts_match_json() -> None:
    from gator_setup.report.json_format import render_json

    report = _report()
    summary = json.loads(render_json(report))["summary"]
    text = render_text(report, color=False, width=200)
    assert (
        f"{summary['checks_run']} checks: {summary['checks_passed']} passed, 1 with findings, "
        f"{summary['checks_skipped']} skipped" in text
    )


def test_here_line_names_what_is_absent_and_the_next_step() -> None:
    fresh = {"torch": None, "diffusers": None, "transformers": None, "huggingface-hub": "2.5.0"}
    ok = Report(
        "doctor", [CheckResult("GTR100", "Reqs", "packages", [])], context=dict(_report(fresh).context)
    )
    text = render_text(ok, color=False, width=200)
    assert (
        "here: Python 3.11.7 (venv) · torch: not installed · GPU: none found · diffusers: not installed · "
        "transformers: not installed · huggingface_hub 2.5.0" in text
    )
    assert "next step: torch, diffusers, transformers not installed here. `gator profiles`" in text
    full = {"torch": "2.13.0+cpu", "diffusers": "0.42.1", "transformers": "5.0.0", "huggingface-hub": "2.5.0"}
    ok.context["packages"] = full
    text = render_text(ok, color=False, width=200)
    assert "torch 2.13.0+cpu (CPU build)" in text and "next step" not in text
    broken = render_text(_report(full), color=False, width=200)
    assert "next step: apply the `fix:` lines above, then run `gator doctor` again." in broken


def _in_pty(args: list[str], columns: int, cwd: Path) -> str:
    """Run gator in a real pseudo-terminal of `columns` columns; its output as the terminal got it."""
    from ptyrun import run_in_pty, terminal_env

    _code, raw = run_in_pty(
        [sys.executable, "-m", "gator_setup", *args], columns=columns, cwd=cwd, env=terminal_env()
    )
    return ANSI.sub("", raw.decode())


@pytest.mark.parametrize("columns", [80, 160])
def test_real_terminal_lines_fit_and_commands_stay_whole(columns: int, tmp_path: Path) -> None:
    """check-pins with long findings and fix lines, in a pty at 80 and 160 columns."""
    (tmp_path / "requirements.txt").write_text(
        "diffusers>=0.25.0\nhuggingface_hub>=0.26.0\ntorch<2.3\nnumpy>=2\n", encoding="utf-8"
    )
    # (--no-resolve: the knowledge base only, no uv resolution against the index)
    out = _in_pty(["check-pins", "--no-resolve"], columns, tmp_path)
    lines = out.splitlines()
    assert "fix:" in out and "\x1b" not in out
    assert max(len(line) for line in lines) <= columns, max(lines, key=len)
    data = json.loads(
        subprocess.run(
            [sys.executable, "-m", "gator_setup", "check-pins", "--no-resolve", "--format", "json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    )
    words = set(out.split())
    fixes = [f["fix"] for f in data["findings"] if f.get("fix")]
    assert fixes
    for fix in fixes:
        for word in fix.split():
            assert word in words, (word, columns)


def test_profiles_lists_every_profile(capsys: pytest.CaptureFixture[str]) -> None:
    from gator_setup.cli.entry import main
    from gator_setup.knowledge.profiles import available_profiles

    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == sorted(available_profiles())
    assert main(["profiles", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["profiles"]
    assert {r["name"]: r["platform"] for r in rows}["cpu"] == "cpu"


@pytest.mark.parametrize("columns", [80, 160])
def test_real_terminal_doctor_report_fits(columns: int, tmp_path: Path) -> None:
    """`gator doctor` itself (the fast path) in a pty: every line within the width, the here line."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n", encoding="utf-8")
    out = _in_pty(["doctor", "--project", str(tmp_path)], columns, tmp_path)
    lines = out.splitlines()
    assert lines[0].startswith("gator doctor") and any(line.startswith("here: Python") for line in lines)
    assert max(len(line) for line in lines) <= columns, max(lines, key=len)
    assert " checks: " in out and "Traceback" not in out
