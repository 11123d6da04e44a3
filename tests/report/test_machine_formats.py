"""GitHub and SARIF keep a finding's message and its fix apart; small wording contracts elsewhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gator_setup.findings import CheckResult, Finding, Location, Severity
from gator_setup.report.github import render_github
from gator_setup.report.model import Report
from gator_setup.report.sarif import render_sarif

ROOT = Path(__file__).resolve().parents[2]


def _report() -> Report:
    f = Finding(
        "GTR101",
        Severity.ERROR,
        "diffusers 0.25.0 imports cached_download, which huggingface-hub 0.26.0 does not export",
        fix='pip install "diffusers>=0.29.0"',
        location=Location("app.py", 3),
    )
    return Report("doctor", [CheckResult("GTR101", "Imports", "imports", [f])])


def test_github_annotation_puts_the_fix_on_its_own_line() -> None:
    line = render_github(_report()).splitlines()[0]
    assert line.endswith('does not export%0AFix: pip install "diffusers>=0.29.0"')
    assert "export Fix:" not in line


def test_sarif_message_and_fix_apart() -> None:
    (result,) = json.loads(render_sarif(_report()))["runs"][0]["results"]
    assert result["message"]["text"].endswith('does not export\n\nFix: pip install "diffusers>=0.29.0"')
    assert result["properties"]["fix"] == 'pip install "diffusers>=0.29.0"'


@pytest.mark.torch
def test_deep_probe_names_the_operation_it_ran() -> None:
    pytest.importorskip("torch")
    from gator_setup.probes.torch_build import run_deep

    deep = run_deep(sys.executable)
    assert deep.ok and deep.tensor_op is not None
    _, _, rest = deep.tensor_op.partition(": ")
    assert rest == "(ones(4) * 2).sum() = 8.0", deep.tensor_op


def test_setup_ai_models_analyze_is_concise(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "setup_ai_models.py"), "--analyze"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "NO_COLOR": "1",
            "COLUMNS": "100",
            "GATOR_MODELS_FILE": str(tmp_path / "x"),
        },
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("gator doctor") and lines[1].startswith("here: ")
    assert any(" checks: " in line for line in lines) and "models on this machine (" in proc.stdout
    assert "NAME " not in proc.stdout and "skipped (" not in proc.stdout  # no full table, no skip list
    assert len(lines) < 25, proc.stdout
