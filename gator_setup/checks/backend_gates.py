"""GTR104: installed backends meet the minimum versions libraries check for before enabling them.

A library that finds its backend too old does not fail at import: it switches the backend off
(transformers 5.x with torch < 2.6: "Disabling PyTorch"), and every class needing it fails later.
The minimum is read from the library's own availability function (analysis/backend_gates.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from gator_setup.checks.base import Check, Finding, NotApplicable, Severity
from gator_setup.names import canonicalize_name
from gator_setup.snapshot import EnvSnapshot


class BackendGates(Check):
    """Every library's version gate on an installed backend is met."""

    code: ClassVar[str] = "GTR104"
    title: ClassVar[str] = "Installed backends meet the versions libraries require to enable them"
    category: ClassVar[str] = "packages"
    needs: ClassVar[frozenset[str]] = frozenset({"backend_gates"})

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        from gator_setup.probes.backend_gates import FACTS_KEY, PRIMARY_USES, BackendGateFacts

        facts = env.extra.get(FACTS_KEY)
        if not isinstance(facts, BackendGateFacts):
            raise NotApplicable("backend gates were not collected")
        for h in facts.hits:
            primary = h.uses >= PRIMARY_USES
            then = (
                f"every part of {h.dist} that needs {h.backend} fails"
                if primary
                else f"{h.dist}'s {h.backend} integration is off"
            )
            yield self.finding(
                Severity.ERROR if primary else Severity.WARNING,
                f"{h.dist} {h.version} switches {h.backend} off: it requires {h.backend} >= {h.minimum} "
                f"({h.file}:{h.line}) and {h.installed} is installed; {then}",
                fix=f'pip install "{h.backend}>={h.minimum}"  '
                f"(or a {h.dist} release that accepts {h.installed})",
                packages=(h.dist, h.backend),
                evidence={
                    "cause": f"backend-gate:{canonicalize_name(h.backend)}:{h.minimum}",
                    "gate": f"{h.file}:{h.line}",
                    "files_using_it": str(h.uses),
                },
            )
        for p in facts.problems:
            yield self.finding(Severity.INFO, f"not analysed: {p.subject}: {p.message}")


CHECKS: tuple[type[Check], ...] = (BackendGates,)
