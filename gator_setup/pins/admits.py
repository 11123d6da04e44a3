"""Whether declared PEP 440 ranges admit a rule's range: a non-empty intersection, found exactly.

Two specifier sets are intersections of half-lines, points and punctured lines whose ends are the
versions they name. Their intersection, if not empty, contains one of those versions, a release just
above one, or one just below one; testing that finite set of candidates decides it, and packaging's
own `contains` decides every PEP 440 subtlety (local labels, pre-releases, `==2.*`, `~=`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

_BIG = 99999


def _bounds(spec: Specifier) -> list[Version]:
    """The versions a specifier turns on or off at (prefix and ~= upper ends included)."""
    text = spec.version
    out: list[Version] = []
    if text.endswith(".*"):
        parts = [int(p) for p in text[:-2].split(".") if p.isdigit()]
        if parts:
            out.append(Version(".".join(map(str, parts))))
            up = [*parts[:-1], parts[-1] + 1]
            out.append(Version(".".join(map(str, up))))
        return out
    try:
        v = Version(text)
    except InvalidVersion:
        return out  # `===` arbitrary strings: only exact string matches
    out.append(v)
    if spec.operator == "~=" and len(v.release) >= 2:
        up = [*v.release[:-2], v.release[-2] + 1]
        out.append(Version(".".join(map(str, up))))
    return out


def _release3(v: Version) -> list[int]:
    rel = list(v.release)
    return rel + [0] * (3 - len(rel)) if len(rel) < 3 else rel


def _neighbours(v: Version) -> list[Version]:
    """v, its public version, and the nearest plausible releases above and below it.

    Neighbours step the third release component (0.35.1 -> 0.35.2, 0.29.0 -> 0.28.99999): a range
    that only admits a hypothetical 0.35.1.1 between `!=0.35.1` and `<0.35.2` is not reported.
    """
    rel = _release3(v)
    out = [v, Version(v.public), Version(".".join(map(str, [*rel[:-1], rel[-1] + 1])))]
    nz = [i for i, p in enumerate(rel) if p]
    if nz:
        i = nz[-1]
        below = [*rel[:i], rel[i] - 1] + [_BIG] * (len(rel) - i - 1)
        out.append(Version(".".join(map(str, below))))
    if v.pre or v.dev:
        out.append(Version(".".join(map(str, v.release))))
    return out


@functools.lru_cache(maxsize=4096)
def _candidates(specs: tuple[str, ...]) -> tuple[Version, ...]:
    cands: set[Version] = {Version("0"), Version(str(_BIG))}
    for s in specs:
        for spec in SpecifierSet(s):
            for b in _bounds(spec):
                cands.update(_neighbours(b))
    return tuple(sorted(cands))


def _accepts_declared(spec: SpecifierSet, v: Version) -> bool:
    # Declared ranges use installer semantics: pre-releases only when a specifier names one.
    return spec.contains(v)


def intersection_witness(declared: Iterable[SpecifierSet], rule: SpecifierSet) -> Version | None:
    """A version inside every declared range and inside the rule's range, or None if there is none.

    Real-looking versions are preferred over synthetic neighbours so messages read naturally.
    """
    declared = list(declared)
    cands = _candidates(tuple(str(s) for s in [*declared, rule]))
    hits = [
        v
        for v in cands
        if rule.contains(v, prereleases=True) and all(_accepts_declared(d, v) for d in declared)
    ]
    if not hits:
        return None
    named = {b for s in [*declared, rule] for spec in s for b in _bounds(spec)}
    real = [v for v in hits if _BIG not in v.release]
    for pool in ([v for v in real if v in named], real, hits):
        if pool:
            return pool[0]
    return None


def compatible(declared: Iterable[SpecifierSet]) -> bool:
    """Whether a set of declared ranges can be satisfied together."""
    return intersection_witness(declared, SpecifierSet()) is not None
