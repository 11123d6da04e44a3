"""The runner contains crashing checks; the registry keeps codes unique."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from factories import dist, snapshot

from gator_setup.checks.base import Check, Finding, NotApplicable, Severity
from gator_setup.checks.registry import all_checks, builtin_checks
from gator_setup.checks.runner import CRASH_CODE, run_checks


class Boom(Check):
    code: ClassVar[str] = "GTR990"
    title: ClassVar[str] = "Always crashes"
    category: ClassVar[str] = "gator"

    def run(self, env: object) -> Iterable[Finding]:
        raise RuntimeError("kaboom")


class Fine(Check):
    code: ClassVar[str] = "GTR991"
    title: ClassVar[str] = "Always fine"
    category: ClassVar[str] = "gator"

    def run(self, env: object) -> Iterable[Finding]:
        return []


def test_crashing_check_becomes_error_finding_and_others_still_run() -> None:
    results = run_checks([Boom(), Fine()], snapshot(dist("a", "1.0")))
    assert results[0].crashed
    (f,) = results[0].findings
    assert f.code == CRASH_CODE and f.severity is Severity.ERROR
    assert "GTR990" in f.message and "kaboom" in f.message
    assert not results[1].crashed and results[1].findings == []


def test_builtin_codes_are_unique_and_well_formed() -> None:
    codes = [c.code for c in builtin_checks()]
    assert len(codes) == len(set(codes))
    for c in builtin_checks():
        assert c.code.startswith("GTR") and len(c.code) == 6 and c.code[3:].isdigit(), c.code
        assert c.title and c.category


def test_all_checks_without_plugins_matches_builtins() -> None:
    classes, failures = all_checks(include_plugins=False)
    assert [c.code for c in classes] == [c.code for c in builtin_checks()]
    assert failures == []


class NeedsProfile(Check):
    code: ClassVar[str] = "GTR992"
    title: ClassVar[str] = "Needs a profile"
    category: ClassVar[str] = "profile"

    def run(self, env: object) -> Iterable[Finding]:
        raise NotApplicable("no profile selected")


def test_not_applicable_is_skipped_not_passed() -> None:
    from gator_setup.report.model import Report

    (r,) = run_checks([NeedsProfile()], snapshot())
    assert r.skipped == "no profile selected" and r.status == "skipped" and not r.crashed
    s = Report("doctor", [r]).summary()
    assert s["checks_passed"] == 0 and s["checks_skipped"] == 1
