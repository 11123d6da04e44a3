"""Run checks in isolation: a check that raises becomes a GTR000 error finding naming it."""

from __future__ import annotations

import time
from collections.abc import Iterable

from gator_setup.checks.base import Check, NotApplicable
from gator_setup.findings import CRASH_CODE, CheckResult, Finding, Severity
from gator_setup.snapshot import EnvSnapshot

__all__ = ["CRASH_CODE", "CheckResult", "crash_finding", "findings_of", "run_check", "run_checks"]


def crash_finding(code: str, title: str, exc: BaseException) -> Finding:
    """The finding that stands in for a check that raised."""
    import traceback  # only when a check crashed

    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
    return Finding(
        code=CRASH_CODE,
        severity=Severity.ERROR,
        message=f"check {code} ({title}) crashed: {type(exc).__name__}: {exc}",
        fix="This is a gator bug; the other checks still ran. Report it with the output of "
        "`GATOR_DEBUG=1 gator doctor --json`.",
        evidence={"check": code, "traceback": tb},
    )


def run_check(check: Check, env: EnvSnapshot) -> CheckResult:
    """Run one check, containing any exception it raises."""
    result = CheckResult(check.code, check.title, check.category)
    start = time.perf_counter()
    try:
        result.findings = list(check.run(env))
    except NotApplicable as reason:
        result.findings, result.skipped = [], str(reason) or "not applicable"
    except Exception as exc:
        result.crashed = True
        result.findings = [crash_finding(check.code, check.title, exc)]
    result.seconds = time.perf_counter() - start
    return result


def findings_of(check: Check, env: EnvSnapshot) -> list[Finding]:
    """A check's findings for callers that act on them (gator fix); not applicable means none."""
    try:
        return list(check.run(env))
    except NotApplicable:
        return []


def run_checks(checks: Iterable[Check], env: EnvSnapshot) -> list[CheckResult]:
    """Run each check against the same snapshot."""
    return [run_check(c, env) for c in checks]
