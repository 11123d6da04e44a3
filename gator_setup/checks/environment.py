"""GTR001: what the probes could not read (malformed metadata, shadowed packages)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from gator_setup.checks.base import Check, Finding, Location, Severity
from gator_setup.snapshot import EnvSnapshot


class EnvironmentReadable(Check):
    """Report every probe problem as a warning, so nothing unreadable passes silently."""

    code: ClassVar[str] = "GTR001"
    title: ClassVar[str] = "Environment metadata is readable"
    category: ClassVar[str] = "gator"

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        for p in env.problems:
            yield self.finding(
                Severity.WARNING,
                f"{p.probe}: {p.message}",
                location=Location(p.subject),
                fix="Reinstall the affected package (pip install --force-reinstall NAME) "
                "or remove the stray folder.",
            )


CHECKS: tuple[type[Check], ...] = (EnvironmentReadable,)
