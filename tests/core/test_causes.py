"""One finding per root cause: grouping by the `cause` evidence (core/causes.py)."""

from __future__ import annotations

import pytest

from gator_setup.core.causes import group_by_cause
from gator_setup.findings import CheckResult, Finding, Severity
from gator_setup.report.json_format import to_json_data
from gator_setup.report.model import Report
from gator_setup.report.text import render_text

CAUSE = "missing:huggingface-hub:huggingface_hub.cached_download"


def _results() -> list[CheckResult]:
    imp = Finding("GTR101", Severity.ERROR, "`import diffusers` fails", evidence={"cause": CAUSE, "x": "1"})
    aux = Finding("GTR101", Severity.WARNING, "transformers scripts", evidence={"cause": CAUSE})
    other = Finding("GTR101", Severity.ERROR, "another name", evidence={"cause": "missing:x:x.y"})
    rule = Finding("GTR110", Severity.ERROR, "rule diffusers-hub-cached-download", evidence={"cause": CAUSE})
    plain = Finding("GTR200", Severity.INFO, "no GPU")
    return [
        CheckResult("GTR101", "imports", "imports", [imp, aux, other]),
        CheckResult("GTR110", "rules", "known-issues", [rule]),
        CheckResult("GTR200", "gpu", "platform", [plain]),
    ]


def test_same_cause_is_one_finding_with_the_others_under_it() -> None:
    results = group_by_cause(_results())
    lead = results[0].findings[0]
    assert [f.message for f in results[0].findings] == ["`import diffusers` fails", "another name"]
    assert [r.code for r in lead.related] == ["GTR110", "GTR101"]  # the rule (error) before the warning
    assert results[1].findings == []  # the rule moved under the import finding
    assert len(results[2].findings) == 1
    report = Report("doctor", results)
    s = report.summary()
    assert (s["errors"], s["warnings"]) == (2, 0)  # two causes
    assert s["checks_passed"] == 1  # GTR110 found something: it is not counted as passed
    data = to_json_data(report)
    related = data["findings"][0]["related"]
    assert related[0]["evidence"]["cause"] == CAUSE and related[0]["check"] == "GTR110"
    text = render_text(report, color=False)
    assert "same cause: GTR110 error: rule diffusers-hub-cached-download" in text
    assert "GTR110 rules: its finding is grouped under GTR101" in text


def test_a_rule_leads_when_it_is_worse() -> None:
    warn = Finding("GTR101", Severity.WARNING, "w", evidence={"cause": CAUSE})
    rule = Finding("GTR110", Severity.ERROR, "r", evidence={"cause": CAUSE})
    results = group_by_cause(
        [CheckResult("GTR101", "i", "imports", [warn]), CheckResult("GTR110", "k", "known-issues", [rule])]
    )
    assert results[0].findings == [] and results[1].findings[0].related == (warn,)


@pytest.mark.venv
def test_one_error_for_the_cached_download_venv(tmp_path, capsys) -> None:
    """The issue's venv: diffusers 0.27.2 + hub 0.26.0 + transformers 4.40.0 has one cause."""
    import json
    import subprocess

    from venv_factory import make_venv

    from gator_setup.cli.app import main

    venv = make_venv("diffusers==0.27.2", "huggingface_hub==0.26.0", "transformers==4.40.0")
    py = str(venv / "bin" / "python")
    assert (
        "cached_download"
        in subprocess.run([py, "-c", "import diffusers"], capture_output=True, text=True).stderr
    )
    assert (
        subprocess.run([py, "-c", "from transformers import AutoConfig"], capture_output=True).returncode == 0
    )
    code = main(["doctor", "--python", str(venv), "--project", str(tmp_path), "--json"])
    report = json.loads(capsys.readouterr().out)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert code == 1 and report["summary"]["errors"] == 1 and len(errors) == 1
    lead = errors[0]
    assert lead["check"] == "GTR101" and "import diffusers" in lead["message"]
    assert {r["check"] for r in lead["related"]} == {"GTR110", "GTR101"}
    assert any(r["evidence"].get("rule") == "diffusers-hub-cached-download" for r in lead["related"])
