"""GTR100: declared requirements of installed distributions are satisfied (what `pip check` sees)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from gator_setup.checks.base import Check, Finding, Severity
from gator_setup.names import canonicalize_name
from gator_setup.probes.requirements import FACTS_KEY, Parsed, Unparsable, evaluate, marker_environment
from gator_setup.snapshot import EnvSnapshot


class DeclaredRequirements(Check):
    """Every Requires-Dist of every installed distribution is installed at an allowed version."""

    code: ClassVar[str] = "GTR100"
    title: ClassVar[str] = "Declared requirements are satisfied"
    category: ClassVar[str] = "packages"
    needs: ClassVar[frozenset[str]] = frozenset({FACTS_KEY})

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        from packaging.specifiers import SpecifierSet

        # the parsed requirements (probes/requirements.py); parsed here for a snapshot without them
        # (for the same Requires-Dist lines only: a what-if snapshot changes distributions)
        facts: dict[str, Parsed] = env.extra.get(FACTS_KEY) or {}
        marker_env = marker_environment(env.interpreter)
        specs: dict[str, SpecifierSet] = {}
        for dist in sorted(env.distributions.values(), key=lambda d: d.key):
            got = facts.get(dist.key)
            items = (
                got[1] if got is not None and got[0] == dist.requires else evaluate(dist.requires, marker_env)
            )
            for item in items:
                if isinstance(item, Unparsable):
                    yield self.finding(
                        Severity.WARNING,
                        f"{dist.name} {dist.version} declares an unparsable requirement {item.raw!r}",
                        packages=(dist.name,),
                    )
                    continue
                dep = env.dist(item.name)
                if dep is None:
                    yield self.finding(
                        Severity.ERROR,
                        f"{dist.name} {dist.version} requires {item.text}, which is not installed",
                        packages=(dist.name, canonicalize_name(item.name)),
                        fix=f'pip install "{item.name}{item.specifier}"',
                    )
                    continue
                if not item.specifier:
                    continue
                spec = specs.get(item.specifier)
                if spec is None:
                    spec = specs[item.specifier] = SpecifierSet(item.specifier)
                version = dep.parsed_version
                if version is None or not spec.contains(version, prereleases=True):
                    yield self.finding(
                        Severity.ERROR,
                        f"{dist.name} {dist.version} requires {item.name}{item.specifier}, "
                        f"but {dep.name} {dep.version} is installed",
                        packages=(dist.name, dep.name),
                        fix=f'pip install "{item.name}{item.specifier}"',
                        evidence={"requirement": item.raw, "declared_by": f"{dist.name} {dist.version}"},
                    )


CHECKS: tuple[type[Check], ...] = (DeclaredRequirements,)
