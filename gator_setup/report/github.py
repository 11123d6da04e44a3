"""GitHub Actions workflow commands (`::error file=...,line=...::message`)."""

from __future__ import annotations

from gator_setup.findings import Finding, Severity
from gator_setup.report.model import Report

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str | None:
    """One workflow command for a finding, or None for ok findings."""
    level = _LEVEL.get(finding.severity)
    if level is None:
        return None
    props = [f"title={_escape_property(finding.code)}"]
    if finding.location is not None:
        props.insert(0, f"file={_escape_property(finding.location.path)}")
        if finding.location.line:
            props.insert(1, f"line={finding.location.line}")
        if finding.location.column:
            props.insert(2, f"col={finding.location.column}")
    # The fix on its own line of the annotation: run into the sentence, it read as one.
    body = finding.message + (f"\nFix: {finding.fix}" if finding.fix else "")
    return f"::{level} {','.join(props)}::{_escape_data(body)}"


def render_github(report: Report) -> str:
    lines = [a for f in report.findings if (a := annotation(f))]
    s = report.summary()
    lines.append(f"gator {report.command}: {s['errors']} error(s), {s['warnings']} warning(s)")
    return "\n".join(lines)
