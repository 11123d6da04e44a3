"""Names a module surely binds at its top level, read with regexes instead of the AST.

Resolving `from torch.nn.functional import gelu` needs only to know that `gelu` is bound in that
module, and a column-0 `def gelu(` outside any string or bracket proves it. Parsing the whole
module with `ast` costs 10-20x more (torch.nn.functional: ~60 ms against ~4 ms here), and cold
scans ask about a hundred such modules. The answer is one-sided: a name found here is certainly
bound (what the AST reading would also find); a name not found here sends the caller to the full
reading, so verdicts are the AST's either way.
"""

from __future__ import annotations

import bisect
import keyword
import re

# Strings and comments, as the tokenizer sees them (possessive: no backtracking on long docstrings).
_OPAQUE = re.compile(
    rb"#[^\n]*+"
    rb'|"""(?:[^"\\]++|\\.|"(?!""))*+"""'
    rb"|'''(?:[^'\\]++|\\.|'(?!''))*+'''"
    rb'|"(?:[^"\\\n]++|\\.)*+"'
    rb"|'(?:[^'\\\n]++|\\.)*+'",
    re.S,
)
# Column-0 statements that bind a name: def / class / `NAME =` / `NAME: T` / imports.
_BIND = re.compile(
    rb"^(?:(?:async[ \t]+)?def[ \t]+(?P<def>\w+)"
    rb"|class[ \t]+(?P<cls>\w+)"
    rb"|(?P<var>[A-Za-z_]\w*)[ \t]*(?::|=(?!=))"
    rb"|from[ \t]+[\w.]+[ \t]+import[ \t]*(?:\((?P<plist>[^)]*)\)|(?P<list>[^\n(]*))"
    rb"|import[ \t]+(?P<mods>[^\n]*))",
    re.M,
)
_COMMENT = re.compile(rb"#[^\n]*")
_OPEN = (b"(", b"[", b"{")
_CLOSE = (b")", b"]", b"}")


def _import_names(text: bytes, modules: bool) -> list[str] | None:
    """Names bound by an import list; None when the text is not a plain, complete list."""
    if b"\\" in text or b";" in text:
        return None
    out = []
    for part in _COMMENT.sub(b"", text).split(b","):
        words = part.split()
        if not words:
            continue
        if len(words) == 3 and words[1] == b"as":
            name = words[2]
        elif len(words) == 1:
            name = words[0].split(b".", 1)[0] if modules else words[0]
        else:
            return None
        if name == b"*":
            continue
        out.append(name.decode("ascii", "replace"))
    return out


def _opaque_and_depth(data: bytes) -> tuple[list[int], list[int], list[int]]:
    """Spans of strings/comments (starts, ends) and the bracket depth at the start of each span."""
    starts: list[int] = []
    ends: list[int] = []
    depths: list[int] = []
    depth = 0
    pos = 0
    for m in _OPAQUE.finditer(data):
        s = m.start()
        seg = data[pos:s]
        depth += sum(seg.count(c) for c in _OPEN) - sum(seg.count(c) for c in _CLOSE)
        starts.append(s)
        ends.append(m.end())
        depths.append(depth)
        pos = m.end()
    return starts, ends, depths


def surely_bound(data: bytes) -> frozenset[str]:
    """Names bound by column-0 statements that are outside strings and brackets (a subset of the truth)."""
    hits = list(_BIND.finditer(data))
    if not hits:
        return frozenset()
    starts, ends, depths = _opaque_and_depth(data)
    out: set[str] = set()
    for m in hits:
        at = m.start()
        i = bisect.bisect_right(starts, at) - 1
        if i >= 0 and at < ends[i]:
            continue  # inside a string (a docstring's example code) or a comment
        # depth at `at`: the depth at the previous opaque span plus the brackets since its end
        base, since = (depths[i], ends[i]) if i >= 0 else (0, 0)
        seg = data[since:at]
        if base + sum(seg.count(c) for c in _OPEN) - sum(seg.count(c) for c in _CLOSE) != 0:
            continue  # a continuation line inside brackets (`x = dict(\nname=1)`), not a statement
        if m.group("def") or m.group("cls") or m.group("var"):
            names: list[str] | None = [(m.group("def") or m.group("cls") or m.group("var")).decode()]
        elif m.group("mods") is not None:
            names = _import_names(m.group("mods"), modules=True)
        else:
            plist = m.group("plist")
            if plist is not None and _OPAQUE.search(plist) and b"#" not in plist:
                names = None  # a string inside the list: not a plain import
            else:
                names = _import_names(plist if plist is not None else m.group("list"), modules=False)
        for n in names or ():
            if n.isidentifier() and not keyword.iskeyword(n):
                out.add(n)
    return frozenset(out)
