"""GTR103: binary extension modules were built against the installed numpy's C ABI.

numpy 2 changed its C ABI: a module compiled with numpy 1.x headers fails to import under numpy 2
(`numpy.core.multiarray failed to import`, `numpy.dtype size changed`) although its metadata often
admits numpy 2, so pip check is content. The probe reads which numpy each binary was built against
from the file itself (analysis/numpy_abi.py), for every distribution, never from a list of names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import ClassVar

from gator_setup.checks.base import Check, Finding, NotApplicable, Severity
from gator_setup.names import canonicalize_name
from gator_setup.snapshot import EnvSnapshot

_MAX = 5
USERS_SEE = "ImportError: numpy.core.multiarray failed to import / ValueError: numpy.dtype size changed"


class NumpyAbiMatches(Check):
    """Every numpy-using binary of an installed package was built for the installed numpy major."""

    code: ClassVar[str] = "GTR103"
    title: ClassVar[str] = "Binary extensions match the installed numpy's C ABI"
    category: ClassVar[str] = "packages"
    needs: ClassVar[frozenset[str]] = frozenset({"numpy_abi"})

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        from gator_setup.probes.numpy_abi import FACTS_KEY, NumpyAbiFacts

        facts = env.extra.get(FACTS_KEY)
        if not isinstance(facts, NumpyAbiFacts):
            raise NotApplicable("numpy is not installed")
        by_dist = defaultdict(list)
        for b in facts.mismatched:
            by_dist[(b.dist, b.version)].append(b)
        for (dist, version), builds in sorted(by_dist.items()):
            reached = [b for b in builds if b.reachable]
            first = (reached or builds)[0]
            files = ", ".join(b.rel_path for b in builds[:_MAX]) + (
                f" (+{len(builds) - _MAX} more)" if len(builds) > _MAX else ""
            )
            if reached and first.module is None:
                msg = (
                    f"{dist} {version}: {first.rel_path} was built against numpy 1.x, but numpy "
                    f"{facts.numpy_version} is installed: its numpy C-API use fails at import or first use"
                )
            elif reached:
                msg = (
                    f"`import {first.module}` fails: {dist} {version} was built against numpy 1.x "
                    f"({len(builds)} binary file(s)), but numpy {facts.numpy_version} is installed"
                )
            else:
                msg = (
                    f"{dist} {version}: {len(builds)} binary module(s) built against numpy 1.x that "
                    f"nothing users import reaches; numpy {facts.numpy_version} is installed"
                )
            yield self.finding(
                Severity.ERROR if reached else Severity.WARNING,
                msg,
                fix=f'pip install "numpy<2"  (or a release of {dist} built against numpy 2: '
                f"pip install -U {dist})",
                packages=(dist, "numpy"),
                evidence={
                    "cause": f"numpy-abi:{canonicalize_name(dist)}",
                    "built_against": "numpy 1.x (imports numpy.core._multiarray_umath, not numpy._core)",
                    "installed_numpy": str(facts.numpy_version),
                    "files": files,
                    "reach": first.reach,
                    "error_users_see": USERS_SEE,
                },
            )
        for p in facts.problems:
            yield self.finding(Severity.INFO, f"not analysed: {p.subject}: {p.message}")


CHECKS: tuple[type[Check], ...] = (NumpyAbiMatches,)
