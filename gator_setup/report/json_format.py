"""The stable JSON output (schema documented in README, 'JSON output')."""

from __future__ import annotations

import json
from typing import Any

from gator_setup import __version__
from gator_setup.report.model import SCHEMA_VERSION, Report


def to_json_data(report: Report) -> dict[str, Any]:
    """The report as plain data."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "gator", "version": __version__},
        "command": report.command,
        "context": report.context,
        "findings": [f.to_json() for f in report.findings],
        "checks": [
            {
                "code": r.code,
                "title": r.title,
                "category": r.category,
                "status": r.status,
                "skipped": r.skipped,
                "seconds": round(r.seconds, 4),
            }
            for r in report.results
        ],
        "summary": report.summary(),
        "notes": report.notes,
    }


def render_json(report: Report) -> str:
    return json.dumps(to_json_data(report), indent=2, sort_keys=False, default=str)
