"""The check contract: Severity, Location, Finding and the Check base class."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from gator_setup.snapshot import EnvSnapshot


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

    def to_json(self) -> dict[str, Any]:
        return {
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


class NotApplicable(Exception):
    """Raised by a check whose inputs are absent (no profile, no --deep): reported as skipped, not passed."""


class Check:
    """A unit of diagnosis: a stable code, a title, a category, and run(env) -> findings.

    Subclasses set the class variables and implement `run`. Checks are pure: they read the
    snapshot and never print, exit or touch the system (probes do that, once, beforehand).
    A check that finds nothing wrong returns no findings; the runner records it as passed. A check
    that cannot judge (its input was not collected) raises NotApplicable with the reason.
    """

    code: ClassVar[str]
    title: ClassVar[str]
    category: ClassVar[str]
    #: Checks off by default run only when named with --only or by a profile.
    default_enabled: ClassVar[bool] = True
    #: Optional snapshot facts this check reads ("imports", "platform"); probes for facts that no
    #: selected check needs are not run, which keeps `gator doctor --only GTR100` fast.
    needs: ClassVar[frozenset[str]] = frozenset()

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        raise NotImplementedError

    def finding(self, severity: Severity, message: str, **kwargs: Any) -> Finding:
        """Build a finding carrying this check's code."""
        return Finding(code=self.code, severity=severity, message=message, **kwargs)


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
