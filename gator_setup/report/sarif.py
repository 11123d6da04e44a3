"""SARIF 2.1.0 output, for code-scanning dashboards."""

from __future__ import annotations

import json
from typing import Any

from gator_setup import __version__
from gator_setup.findings import Severity
from gator_setup.report.model import Report

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def to_sarif_data(report: Report) -> dict[str, Any]:
    titles = {r.code: r.title for r in report.results}
    results: list[dict[str, Any]] = []
    for f in report.findings:
        if f.severity not in _LEVEL:
            continue
        item: dict[str, Any] = {
            "ruleId": f.code,
            "level": _LEVEL[f.severity],
            # The fix in its own paragraph (and field): run into the sentence, it read as one.
            "message": {"text": f.message + (f"\n\nFix: {f.fix}" if f.fix else "")},
        }
        if f.fix:
            item["properties"] = {"fix": f.fix}
        if f.location is not None:
            region = {"startLine": f.location.line} if f.location.line else {}
            item["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.location.path},
                        **({"region": region} if region else {}),
                    }
                }
            ]
        results.append(item)
    rules = [{"id": code, "shortDescription": {"text": title}} for code, title in sorted(titles.items())]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "gator", "version": __version__, "rules": rules}},
                "results": results,
            }
        ],
    }


def render_sarif(report: Report) -> str:
    return json.dumps(to_sarif_data(report), indent=2)
