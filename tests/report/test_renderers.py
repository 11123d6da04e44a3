"""Renderers: text groups by category without colour under NO_COLOR; GitHub/SARIF carry locations."""

from __future__ import annotations

import json

from gator_setup.checks.base import Finding, Location, Severity
from gator_setup.checks.runner import CheckResult
from gator_setup.report.github import render_github
from gator_setup.report.model import Report
from gator_setup.report.sarif import render_sarif
from gator_setup.report.text import render_text


def sample() -> Report:
    bad = Finding(
        "GTR301",
        Severity.ERROR,
        "diffusers>=0.25.0 admits a broken stack",
        fix="diffusers>=0.29.0",
        location=Location("pyproject.toml", 7),
    )
    warn = Finding("GTR102", Severity.WARNING, "use_auth_token is deprecated")
    return Report(
        "check-pins",
        [
            CheckResult("GTR301", "Pins", "known-issues", [bad]),
            CheckResult("GTR102", "Deprecated", "deprecations", [warn]),
            CheckResult("GTR100", "Reqs", "packages", []),
        ],
    )


def test_text_groups_and_has_no_ansi() -> None:
    text = render_text(sample(), color=False)
    assert "\x1b[" not in text
    verbose = render_text(sample(), color=False, verbose=True)
    assert verbose.index("packages") < verbose.index("deprecations") < verbose.index("known-issues")
    # Without -v the quiet pass is one line before the categories that have something to say.
    assert text.index("passed: GTR100") < text.index("deprecations") < text.index("known-issues")
    assert "fix: diffusers>=0.29.0" in text
    assert "1 error(s), 1 warning(s)" in text


def test_exit_codes() -> None:
    r = sample()
    assert r.exit_code(Severity.ERROR) == 1
    ok = Report(
        "doctor", [CheckResult("GTR102", "D", "deprecations", [Finding("GTR102", Severity.WARNING, "w")])]
    )
    assert ok.exit_code(Severity.ERROR) == 0 and ok.exit_code(Severity.WARNING) == 1


def test_github_annotation_on_the_line() -> None:
    out = render_github(sample())
    assert "::error file=pyproject.toml,line=7,title=GTR301::diffusers>=0.25.0" in out


def test_sarif_structure() -> None:
    data = json.loads(render_sarif(sample()))
    (result,) = [r for r in data["runs"][0]["results"] if r["ruleId"] == "GTR301"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
