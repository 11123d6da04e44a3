"""GTR100: declared requirements of installed distributions are satisfied (what `pip check` sees)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from gator_setup.checks.base import Check, Finding, Severity
from gator_setup.snapshot import EnvSnapshot, Interpreter

# `name ...; extra == "x"` only applies when that extra was requested, which metadata cannot
# tell, so such requirements are skipped; matching them before parsing saves most of this
# check's time (transformers alone declares ~400 of them).
_ONLY_EXTRA = re.compile(r"""^[^;]*;\s*extra\s*==\s*(['"])[^'"]*\1\s*$""")


def marker_environment(interp: Interpreter) -> dict[str, str]:
    """PEP 508 marker variables for the target interpreter (not gator's own)."""
    system = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}.get(interp.platform, interp.platform)
    parts = interp.version.split(".")
    return {
        "implementation_name": interp.implementation.lower(),
        "implementation_version": interp.version,
        "os_name": "nt" if interp.platform == "win32" else "posix",
        "platform_machine": interp.machine,
        "platform_python_implementation": interp.implementation,
        "platform_release": "",
        "platform_system": system,
        "platform_version": "",
        "python_full_version": interp.version,
        "python_version": ".".join(parts[:2]),
        "sys_platform": interp.platform,
        "extra": "",
    }


class DeclaredRequirements(Check):
    """Every Requires-Dist of every installed distribution is installed at an allowed version."""

    code: ClassVar[str] = "GTR100"
    title: ClassVar[str] = "Declared requirements are satisfied"
    category: ClassVar[str] = "packages"

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        marker_env = marker_environment(env.interpreter)
        for dist in sorted(env.distributions.values(), key=lambda d: d.key):
            for raw in dist.requires:
                if _ONLY_EXTRA.match(raw):
                    continue
                try:
                    req = Requirement(raw)
                    if req.marker is not None and not req.marker.evaluate(marker_env):
                        continue
                except (InvalidRequirement, InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
                    yield self.finding(
                        Severity.WARNING,
                        f"{dist.name} {dist.version} declares an unparsable requirement {raw!r}",
                        packages=(dist.name,),
                    )
                    continue
                dep = env.dist(req.name)
                if dep is None:
                    yield self.finding(
                        Severity.ERROR,
                        f"{dist.name} {dist.version} requires {req}, which is not installed",
                        packages=(dist.name, canonicalize_name(req.name)),
                        fix=f'pip install "{req.name}{req.specifier}"',
                    )
                    continue
                version = dep.parsed_version
                if req.specifier and (
                    version is None or not req.specifier.contains(version, prereleases=True)
                ):
                    yield self.finding(
                        Severity.ERROR,
                        f"{dist.name} {dist.version} requires {req.name}{req.specifier}, "
                        f"but {dep.name} {dep.version} is installed",
                        packages=(dist.name, dep.name),
                        fix=f'pip install "{req.name}{req.specifier}"',
                        evidence={"requirement": raw, "declared_by": f"{dist.name} {dist.version}"},
                    )


CHECKS: tuple[type[Check], ...] = (DeclaredRequirements,)
