"""The neutral value types every layer shares: Severity, Location, Finding and CheckResult.

They import nothing from gator, so checks, probes, knowledge, pins, report and core can all use
them without importing upward (docs/architecture.md).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The code of the finding that stands in for a check that crashed (a gator bug).
CRASH_CODE = "GTR000"

# Categories, in report order.
CATEGORIES: tuple[str, ...] = (
    "gator",
    "packages",
    "imports",
    "deprecations",
    "known-issues",
    "platform",
    "torch",
    "profile",
    "models",
    "network",
)


class Severity(enum.IntEnum):
    """How bad a finding is; ordered so that comparisons pick the worst."""

    OK = 0
    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None


@dataclass(frozen=True)
class Location:
    """A place in a file a finding points at (1-based line)."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        return f"{self.path}:{self.line}" + (f":{self.column}" if self.column else "")


@dataclass(frozen=True)
class Finding:
    """One result of a check: what is wrong (or right), why, and the fix."""

    code: str
    severity: Severity
    message: str
    fix: str | None = None
    packages: tuple[str, ...] = ()
    location: Location | None = None
    evidence: Mapping[str, str] = field(default_factory=dict)
    #: Findings of the same root cause grouped under this one (core/causes.py); each keeps its evidence.
    related: tuple[Finding, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "check": self.code,
            "severity": self.severity.label,
            "message": self.message,
            "packages": list(self.packages),
            "fix": self.fix,
            "location": None
            if self.location is None
            else {"path": self.location.path, "line": self.location.line, "column": self.location.column},
            "evidence": dict(self.evidence),
        }
        if self.related:
            data["related"] = [r.to_json() for r in self.related]
        return data


@dataclass
class CheckResult:
    """What one check (or rule) produced, and how long it took."""

    code: str
    title: str
    category: str
    findings: list[Finding] = field(default_factory=list)
    crashed: bool = False
    seconds: float = 0.0
    #: Why the check could not judge (its input was absent); None when it ran.
    skipped: str | None = None

    @property
    def status(self) -> str:
        """crashed, skipped, or the worst severity's label."""
        if self.crashed:
            return "crashed"
        return "skipped" if self.skipped is not None else self.worst.label

    @property
    def worst(self) -> Severity:
        return max((f.severity for f in self.findings), default=Severity.OK)
