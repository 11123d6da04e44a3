"""Regex pass over raw bytes that over-approximates a file's imports (the cold-scan fast path).

Parsing every file of transformers with `ast` takes tens of seconds; this pass takes well under
one. It finds every `import` / `from ... import` statement (including parenthesised and
backslash-continued ones, and ones after `;` or `:`), possibly plus a few false ones from
strings. A file is parsed with `ast` only when one of its candidates does not resolve, so the
verdict (guards, scopes, comments and strings) is still the AST's.
"""

from __future__ import annotations

import re
from collections.abc import Collection

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
    done: set[int] = set()
    find = data.find
    names = tuple(present) if present is not None else ()
    single = names[0] if len(names) == 1 else None
    pos = find(b"import")
    # Scan for the keyword with bytes.find (C speed) and try the statement pattern only where a
    # statement could start: the line start, or just after the last `;` / `:` before the keyword.
    while pos != -1:
        ls = data.rfind(b"\n", 0, pos) + 1
        if present is not None:
            eol = find(b"\n", pos)
            if eol == -1:
                eol = len(data)
            # (bounded finds: no copy of the line) a line naming no watched module, not continued
            # with a backslash, holds no candidate: nor does any other `import` on it
            if single is not None:
                named = find(single, ls, eol) >= 0
            else:
                named = any(find(n, ls, eol) >= 0 for n in names)
            if not named and data[eol - 1] != 0x5C and not (data[eol - 1] == 0x0D and data[eol - 2] == 0x5C):
                pos = find(b"import", eol)
                continue
        starts = [ls]
        sep = max(data.rfind(b";", ls, pos), data.rfind(b":", ls, pos))
        if sep >= 0:
            starts.append(sep + 1)
        pos = find(b"import", pos + 6)
        for start in starts:
            if start in done:
                continue
            m = _STMT.match(data, start)
            if m is None:
                continue
            done.add(start)
            line += data.count(b"\n", counted, start)
            counted = start
            out.extend(_refs(m, line, watched))
    return out


def _refs(m: re.Match[bytes], line: int, watched: Collection[str]) -> list[ImportRef]:
    out: list[ImportRef] = []
    mod_b = m.group("mod")
    if mod_b is not None:
        module = mod_b.decode("ascii", "replace")
        if module.startswith(".") or module.split(".", 1)[0] not in watched:
            return out
        names = _COMMENT.sub(b"", m.group("names")).strip(b"()")
        for raw in names.replace(b"\\\n", b" ").split(b","):
            word = _first_word(raw)
            if word is not None and "." not in word:
                out.append(ImportRef(module, None if word == "*" else word, line))
    else:
        for raw in m.group("mods").replace(b"\\\n", b" ").split(b","):
            word = _first_word(raw)
            if word and word.split(".", 1)[0] in watched:
                out.append(ImportRef(word, None, line))
    return out
