"""Regex pass over raw bytes that over-approximates a file's imports (the cold-scan fast path).

Parsing every file of transformers with `ast` takes tens of seconds; this pass takes well under
one. It finds every `import` / `from ... import` statement (including parenthesised and
backslash-continued ones, and ones after `;` or `:`), possibly plus a few false ones from
strings. A file is parsed with `ast` only when one of its candidates does not resolve, so the
verdict (guards, scopes, comments and strings) is still the AST's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any

from gator_setup.analysis import needles, speedups
from gator_setup.analysis.model import ImportRef

_STMT = re.compile(
    rb"[ \t]*(?:"
    rb"from[ \t]+(?P<mod>[\w.]+)[ \t]+import[ \t]*(?P<names>\([^)]*\)|(?:[^\n\\#;]|\\\r?\n)*)"
    rb"|import[ \t]+(?P<mods>(?:[^\n\\#;]|\\\r?\n)+))",
)
_COMMENT = re.compile(rb"#[^\n]*")
_WORD = re.compile(rb"[A-Za-z_][\w.]*|\*")


def _first_word(part: bytes) -> str | None:
    m = _WORD.search(part)
    return m.group(0).decode("ascii", "replace") if m else None


def import_candidates(
    data: bytes, watched: Collection[str], present: Collection[bytes] | None = None
) -> list[ImportRef]:
    """(module, name, line) of every import-looking statement naming a `watched` top-level module.

    `present`: when known, the names of the watched modules that occur in `data` (a statement
    naming one has its bytes on the keyword's line, or it is continued with a backslash); lines
    holding none of them are skipped without trying the statement pattern.
    """
    out: list[ImportRef] = []
    line = 1
    counted = 0
    for m in _statements(data, present):
        start = m.start()
        line += data.count(b"\n", counted, start)
        counted = start
        out.extend(ImportRef(module, name, line) for module, name in _targets(m, watched))
    return out


def import_pairs(
    data: bytes, watched: Collection[str], present: Collection[bytes] | None = None
) -> tuple[tuple[str, str | None], ...]:
    """The distinct (module, name) of `import_candidates`, in the order first found: what the
    scan's triage asks the providers (no line numbers, no ImportRef per statement: cheaper).
    With the C helpers and `present` known, one native call does the same (the statement pattern
    and `_targets` ported; tests/analysis/test_speedups.py compares them)."""
    fast = speedups.native() if present is not None else None
    if fast is not None and present is not None:
        return fast.import_pairs(data, tuple(present), encoded(watched))  # type: ignore[no-any-return]
    out: dict[tuple[str, str | None], None] = {}
    for m in _statements(data, present):
        out.update(dict.fromkeys(_targets(m, watched)))
    return tuple(out)


_ENCODED: dict[frozenset[str], tuple[bytes, ...]] = {}


def encoded(watched: Collection[str]) -> tuple[bytes, ...]:
    """The watched names as bytes (kept per frozenset: the engine asks with a few sets, thousands
    of times)."""
    got = _ENCODED.get(watched) if isinstance(watched, frozenset) else None
    if got is None:
        got = tuple(w.encode() for w in watched)
        if isinstance(watched, frozenset):
            _ENCODED[watched] = got
    return got


def _keyword_positions(data: bytes) -> Iterable[int]:
    """Where b"import" starts in `data`: one native pass when the `fast` extra is there (a few
    times quicker than bytes.find over a file), else bytes.find in a loop. Same positions."""
    module = needles.native_module()
    if module is None:
        return _find_all(data, b"import")
    automaton = _keyword_automata.get(module)
    if automaton is None:
        automaton = _keyword_automata[module] = module.BytesAhoCorasick([b"import"])
    return [start for _i, start, _end in automaton.find_matches_as_indexes(data)]


_keyword_automata: dict[Any, Any] = {}


def _find_all(data: bytes, word: bytes) -> Iterator[int]:
    pos = data.find(word)
    while pos != -1:
        yield pos
        pos = data.find(word, pos + len(word))


def _statements(data: bytes, present: Collection[bytes] | None) -> Iterator[re.Match[bytes]]:
    """The import-looking statements of `data`, in order: the statement pattern is tried only
    where one could start: the line start, or just after the last `;` / `:` before a keyword."""
    find = data.find
    rfind = data.rfind
    done: set[int] = set()
    names = tuple(present) if present is not None else ()
    single = names[0] if len(names) == 1 else None
    search = _alternation(names) if len(names) > 1 else None
    fast = speedups.native() if present is not None else None
    # with the C helpers, the line test below is done there: only keywords on lines that pass it
    positions = fast.import_keyword_lines(data, names) if fast is not None else _keyword_positions(data)
    skip = -1  # keywords before this offset lie on a line already rejected
    for pos in positions:
        if pos < skip:
            continue
        ls = rfind(b"\n", 0, pos) + 1
        if present is not None and fast is None:
            eol = find(b"\n", pos)
            if eol == -1:
                eol = len(data)
            # (bounded searches: no copy of the line) a line naming no watched module, not
            # continued with a backslash, holds no candidate: nor does any other `import` on it
            if single is not None:
                named = find(single, ls, eol) >= 0
            else:
                named = search is not None and search(data, ls, eol) is not None
            if not named and data[eol - 1] != 0x5C and not (data[eol - 1] == 0x0D and data[eol - 2] == 0x5C):
                skip = eol
                continue
        sep = max(rfind(b";", ls, pos), rfind(b":", ls, pos))
        for start in (ls, sep + 1) if sep >= 0 else (ls,):
            if start in done:
                continue
            m = _STMT.match(data, start)
            if m is None:
                continue
            done.add(start)
            yield m


@functools.lru_cache(maxsize=64)
def _alternation(names: tuple[bytes, ...]) -> Callable[[bytes, int, int], re.Match[bytes] | None]:
    """One search for any of `names` (a line is tested once, not once per name)."""
    return re.compile(b"|".join(re.escape(n) for n in names)).search


def _targets(m: re.Match[bytes], watched: Collection[str]) -> Iterator[tuple[str, str | None]]:
    """(module, imported name or None) of one statement, for modules under `watched` tops."""
    mod_b = m.group("mod")
    if mod_b is not None:
        module = mod_b.decode("ascii", "replace")
        if module.startswith(".") or module.split(".", 1)[0] not in watched:
            return
        names = _COMMENT.sub(b"", m.group("names")).strip(b"()")
        for raw in names.replace(b"\\\n", b" ").split(b","):
            word = _first_word(raw)
            if word is not None and "." not in word:
                yield module, None if word == "*" else word
    else:
        for raw in m.group("mods").replace(b"\\\n", b" ").split(b","):
            word = _first_word(raw)
            if word and word.split(".", 1)[0] in watched:
                yield word, None
