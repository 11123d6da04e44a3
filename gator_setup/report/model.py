"""Report: the results of one gator run, with the exit code computed once for every format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gator_setup.findings import CheckResult, Finding, Severity

#: Bumped on any incompatible change of the JSON output.
SCHEMA_VERSION = 1


@dataclass
class Report:
    """Results of a run: which checks ran, what they found, and the context they saw."""

    command: str
    results: list[CheckResult]
    context: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        """Every finding, worst first, then by code."""
        found = [f for r in self.results for f in r.findings]
        return sorted(found, key=lambda f: (-f.severity, f.code))

    @property
    def grouped_codes(self) -> set[str]:
        """Checks whose findings were grouped under another check's (one finding per cause)."""
        return {rel.code for f in self.findings for rel in f.related if rel.code != f.code}

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def summary(self) -> dict[str, int]:
        return {
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "info": self.count(Severity.INFO),
            "checks_run": len(self.results),
            "checks_passed": sum(
                1
                for r in self.results
                if r.skipped is None and r.worst <= Severity.INFO and r.code not in self.grouped_codes
            ),
            "checks_skipped": sum(1 for r in self.results if r.skipped is not None),
        }

    def exit_code(self, fail_on: Severity = Severity.ERROR) -> int:
        """0 when nothing reaches `fail_on`, else 1 (2 is reserved for gator failing to run)."""
        return 1 if any(f.severity >= fail_on for f in self.findings) else 0
