"""One finding per root cause: findings that name the same cause are grouped under one.

Checks mark what a finding is caused by with `evidence["cause"]` (e.g. "missing:huggingface-hub:
huggingface_hub.cached_download" from GTR101 and GTR110, "numpy-abi:torch" from GTR103, GTR110 and
GTR207). The finding that shows the break best (worst severity, then code-derived evidence before
rules) stays where it is; the others move into its `related` tuple with all their evidence, so the
summary counts causes and the JSON output keeps every piece of evidence.
"""

from __future__ import annotations

from dataclasses import replace

from gator_setup.findings import CheckResult, Finding

#: Which check's finding leads a group of equal severity: the import analysis and the binary
#: reader show the failing module itself; the torch check knows the profile; a rule says least.
LEAD_ORDER = ("GTR101", "GTR103", "GTR111", "GTR207", "GTR110", "GTR304", "GTR302", "GTR301")


def cause_of(f: Finding) -> str | None:
    """The root-cause key a finding carries, if any."""
    return f.evidence.get("cause") or None


def _rank(f: Finding) -> tuple[int, int]:
    order = LEAD_ORDER.index(f.code) if f.code in LEAD_ORDER else len(LEAD_ORDER)
    return (-int(f.severity), order)


def group_by_cause(results: list[CheckResult]) -> list[CheckResult]:
    """Move every finding that shares a cause with a better one under it (`related`); in place."""
    groups: dict[str, list[tuple[int, Finding]]] = {}
    for ri, r in enumerate(results):
        for f in r.findings:
            key = cause_of(f)
            if key:
                groups.setdefault(key, []).append((ri, f))
    moved: set[int] = set()
    lead_of: dict[int, Finding] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: _rank(m[1]))
        _ri, lead = members[0]
        lead_of[id(lead)] = replace(lead, related=(*lead.related, *(f for _r, f in members[1:])))
        moved.update(id(f) for _r, f in members[1:])
    if not moved:
        return results
    for r in results:
        r.findings = [lead_of.get(id(f), f) for f in r.findings if id(f) not in moved]
    return results
