"""The check contract: the Check base class (its value types come from gator_setup.findings)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from gator_setup.findings import CATEGORIES, Finding, Location, Severity

if TYPE_CHECKING:
    from gator_setup.snapshot import EnvSnapshot

# (re-exported: every check module imports them from here with Check)
__all__ = ["CATEGORIES", "Check", "Finding", "Location", "NotApplicable", "Severity"]


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
