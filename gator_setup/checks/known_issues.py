"""GTR110: no known-bad combination from the knowledge base is installed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from gator_setup.checks.base import Check, Finding
from gator_setup.probes.requirements import marker_environment
from gator_setup.snapshot import EnvSnapshot


class KnownBadCombinations(Check):
    """Every verified rule whose version ranges the installed distributions hit becomes a finding."""

    code: ClassVar[str] = "GTR110"
    title: ClassVar[str] = "No known-bad combination is installed"
    category: ClassVar[str] = "known-issues"

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        from gator_setup.knowledge.rules import default_rules, matching_rules

        versions = {key: d.parsed_version for key, d in env.distributions.items()}
        marker_env = marker_environment(env.interpreter)
        for rule in matching_rules(
            default_rules(),
            versions,
            python_version=env.interpreter.version,
            marker_env=marker_env,
        ):
            installed = ", ".join(
                f"{d.name} {d.version}" for d in (env.dist(name) for name in rule.packages) if d is not None
            )
            fix = f"pip install '{rule.fix}'"
            if rule.alternatives:
                fix += " (or pin " + " / ".join(f"'{a}'" for a in rule.alternatives) + ")"
            evidence = {
                "cause": rule.cause_key,
                "rule": rule.id,
                "installed": installed,
                "broken_combination": rule.combination(),
                "error_users_see": rule.error,
            }
            if rule.fails_at:
                evidence["fails_at"] = rule.fails_at
            evidence.update(rule.proof_evidence())
            yield self.finding(
                rule.severity,
                f"{installed}: {rule.title}; users see: {rule.error}",
                fix=fix,
                packages=tuple(rule.packages),
                evidence=evidence,
            )


CHECKS: tuple[type[Check], ...] = (KnownBadCombinations,)
