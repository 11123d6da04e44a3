"""Which of a fixed set of byte strings a file contains: the scan's pre-filter.

Most of a cold scan of a site-packages is this question (about 10,000 files, 200 MB, a dozen
names). Asked with `bytes.__contains__` it costs one pass over the file per absent name. With the
optional `ahocorasick_rs` package (the
`fast` extra: Rust's aho-corasick crate, whose SIMD "Teddy" searcher is what ripgrep uses for
a few literals) one pass answers every name for several times less CPU
(`python benchmarks/scan_speed.py` prints which of the two ran). Both give the same answers; the
pure-Python one is the fallback wherever that package is missing, and `speedups.PURE_PYTHON`
forces it.

Exactness: the native search reports leftmost-longest, non-overlapping matches, so an occurrence
of a needle X that starts inside a reported match of another pattern P is not reported
(`torch` then `huggingface_hub` in "torchuggingface_hub"). Three things keep the answer exact:
- at one start the longest pattern wins, so a needle that is a prefix of the match is implied;
- for every needle Y and offset k at which X can start inside Y, the joined string Y[:k] + X is a
  pattern too: longer than Y, it wins at that start, so a reported Y match never hides X at such
  an offset, and the joined match proves both;
- what can still hide X (a joined pattern hiding a third needle) is computed up front, and X is
  then asked with `in` whenever such a pattern was found and X was not.
A needle inside a longer pattern is implied by every match of that pattern.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

Presence = Callable[[bytes], bool]
_pattern_of = operator.itemgetter(0)  # (pattern index, start, end) -> pattern index


def native_available() -> bool:
    """True when the native multi-needle search is installed and not switched off."""
    return native_module() is not None


def native_module() -> Any:
    """The native search package (ahocorasick_rs), or None when it is missing or switched off."""
    from gator_setup.analysis import speedups

    if speedups.PURE_PYTHON:
        return None
    try:
        import ahocorasick_rs
    except ImportError:
        return None
    return ahocorasick_rs


def hide_offsets(needle: bytes, pattern: bytes) -> list[int]:
    """Offsets k >= 1 at which an occurrence of `needle` can start inside a match of `pattern`
    and run past its end (an occurrence lying wholly inside is implied by the match instead)."""
    return [
        k for k in range(1, len(pattern)) if needle.startswith(pattern[k:]) and len(needle) > len(pattern) - k
    ]


class NeedleIndex:
    """Answers "does this buffer contain needle N?" for a fixed set of needles."""

    def __init__(self, needles: Iterable[bytes], *, native: bool | None = None) -> None:
        self.needles = tuple(dict.fromkeys(n for n in needles if n))
        self._known = frozenset(self.needles)
        self._module: Any = native_module() if native is not False else None
        if native and self._module is None:
            raise RuntimeError("the native needle search (ahocorasick_rs) is not available")
        # built on first use (a warm scan analyses no file and never needs it)
        self._automaton: Any = None
        self._proves: list[frozenset[bytes]] = []
        self._hidden_by: list[tuple[bytes, frozenset[int]]] = []
        self._by_hits: dict[frozenset[int], tuple[frozenset[bytes], tuple[bytes, ...]]] = {}

    def _build(self) -> Any:
        joined = {y[:k] + x: None for y in self.needles for x in self.needles for k in hide_offsets(x, y)}
        patterns = [p for p in joined if p not in self._known] + list(self.needles)
        # what a match of each pattern proves present: every needle inside it
        self._proves = [frozenset(n for n in self.needles if n in p) for p in patterns]
        # needle -> patterns whose matches can still hide it (a needle's own joined forms cover
        # the needles it can hide at those offsets)
        for x in self.needles:
            hiders = frozenset(
                i
                for i, p in enumerate(patterns)
                if x not in self._proves[i] and any(p[:k] + x not in joined for k in hide_offsets(x, p))
            )
            if hiders:
                self._hidden_by.append((x, hiders))
        module = self._module
        self._automaton = module.BytesAhoCorasick(patterns, matchkind=module.MATCHKIND_LEFTMOST_LONGEST)
        return self._automaton

    @property
    def native(self) -> bool:
        return self._module is not None and bool(self.needles)

    def present(self, data: bytes) -> frozenset[bytes]:
        """The needles `data` contains."""
        if not self.native:
            return frozenset(n for n in self.needles if n in data)
        return self._native_present(data)

    def _native_present(self, data: bytes) -> frozenset[bytes]:
        automaton = self._automaton or self._build()
        hits = frozenset(map(_pattern_of, automaton.find_matches_as_indexes(data)))
        # what a set of patterns found proves is the same for every file finding that set: a
        # few dozen sets cover a site-packages, so it is worked out once per set
        known = self._by_hits.get(hits)
        if known is None:
            known = self._by_hits[hits] = self._proven(hits)
        found, unsure = known
        if not unsure:
            return found
        return found | {x for x in unsure if x in data}

    def _proven(self, hits: frozenset[int]) -> tuple[frozenset[bytes], tuple[bytes, ...]]:
        """The needles a set of pattern matches proves present, and those it may hide (each of
        which is then asked with `in`)."""
        found: set[bytes] = set()
        for i in hits:
            found.update(self._proves[i])
        unsure = tuple(x for x, hiders in self._hidden_by if x not in found and not hiders.isdisjoint(hits))
        return frozenset(found), unsure

    def presence(self, data: bytes, found: frozenset[bytes] | None = None) -> Presence:
        """A test `needle -> bool` for `data`: a set look-up with the native search (which
        answers all needles in one pass; `found`: its answer, `present(data)`, when already
        asked), else `in`, asked only for the needles wanted."""
        if not self.native:
            return data.__contains__
        if found is None:
            found = self._native_present(data)
        known = self._known

        def has(needle: bytes) -> bool:
            return needle in found if needle in known else needle in data

        return has
