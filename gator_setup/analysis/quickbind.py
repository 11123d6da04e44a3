"""Names a module surely binds at its top level, read with regexes instead of the AST.

Resolving `from torch.nn.functional import gelu` needs only to know that `gelu` is bound in that
module, and a column-0 `def gelu(` outside any string or bracket proves it. Parsing the whole
module with `ast` costs an order of magnitude more (figures in docs/imports.md, "Start-up and
engine figures"), and cold scans ask about a hundred such modules. The answer is one-sided: a
name found here is one the AST reading (exports.py) also finds; a name not found here sends the
caller to that reading, so verdicts are the AST's either way.

How: strings and comments are deleted (one regex substitution, in C); the binding statements
are then found at column 0 and at the first indentation level of a column-0 `if` / `try` /
`with` / `for` / `while` block (whose bindings the AST reading counts too; deeper levels and
function or class bodies are not read), and one at a bracket depth other than 0 is a
continuation line, not a statement. Star imports and a literal `__all__` are reported for the
caller to follow (exports.py), as the AST reading does.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator
from typing import NamedTuple

from gator_setup.analysis import speedups

# Strings and comments, as the tokenizer sees them (possessive: no backtracking on long docstrings).
_OPAQUE = re.compile(
    rb"#[^\n]*+"
    rb'|"""(?:[^"\\]++|\\.|"(?!""))*+"""'
    rb"|'''(?:[^'\\]++|\\.|'(?!''))*+'''"
    rb'|"(?:[^"\\\n]++|\\.)*+"'
    rb"|'(?:[^'\\\n]++|\\.)*+'",
    re.S,
)
# Column-0 statements that bind a name, on text without strings and comments (so a
# parenthesised import list is plain text): def / class / `NAME =` / `NAME: T` / imports; and
# `__all__` lines, counted to tell whether every one of the raw text's is code.
_STATEMENT = (
    rb"(?:(?P<all>__all__)\b(?P<all_bound>[ \t]*(?::|\+?=(?!=)))?"
    rb"|(?:async[ \t]+)?def[ \t]+(?P<def>\w+)"
    rb"|class[ \t]+(?P<cls>\w+)"
    rb"|(?P<var>[A-Za-z_]\w*)[ \t]*(?::|=(?!=))"
    rb"|from[ \t]+(?P<src>[\w.]+)[ \t]+import[ \t]*(?:\((?P<plist>[^)]*)\)|(?P<list>[^\n(]*))"
    rb"|import[ \t]+(?P<mods>[^\n]*))"
)
# ... and the headers of column-0 compound statements whose bodies the AST reading walks
_TOP = re.compile(
    rb"\n(?:(?P<head>(?:if|elif|else|try|except|finally|with|for|while|async[ \t]+(?:with|for))\b[^\n]*)"
    rb"|" + _STATEMENT + rb")"
)
_LINE_WORD = re.compile(rb"\n[A-Za-z_]")
_INDENTED = re.compile(rb"\n(?P<ind>[ \t]+)" + _STATEMENT)
_NEXT_TOP = re.compile(rb"\n(?=[^ \t\n])")
_FIRST_INDENT = re.compile(rb"(?:[ \t]*\n)*([ \t]+)\S")
# brackets of every kind as `(` and `)`, to count depth with two counts
_AS_PARENS = bytes.maketrans(b"[{]}", b"(())")
# `__all__` statements whose value is a literal list of strings (what the AST reading takes).
_STRINGS = rb"""[\[(](?P<items>(?:\s|#[^\n]*|"[^"\\\n]*"|'[^'\\\n]*'|,)*)[\])]"""
_ALL_STATEMENT = re.compile(
    rb"^__all__(?:[ \t]*(?::[^=\n]*)?\+?=[ \t]*|(?P<extend>\.extend\([ \t]*))"
    + _STRINGS
    + rb"(?(extend)[ \t]*\))[ \t]*(?:#[^\n]*)?$"
    rb"""|^__all__\.append\([ \t]*(?P<one>"[^"\\\n]*"|'[^'\\\n]*')[ \t]*\)[ \t]*(?:#[^\n]*)?$""",
    re.M,
)
# the items' tokens in order (a quote inside a comment is not a string)
_ITEM = re.compile(rb"""#[^\n]*|"([^"\\\n]*)"|'([^'\\\n]*)'""")


class QuickRead(NamedTuple):
    """What a module's text surely binds, without the AST."""

    names: frozenset[str]
    # `from <src> import *` statements (src as written, leading dots included), not in a
    # TYPE_CHECKING block: the caller adds the names each one surely brings
    stars: tuple[str, ...] = ()
    # top-level `__all__` lines outside strings and brackets (for `literal_all`)
    all_lines: int = 0


def _import_names(text: bytes, modules: bool) -> list[str] | None:
    """Names bound by an import list; None when the text is not a plain, complete list."""
    if b"\\" in text or b";" in text:
        return None
    out = []
    for part in text.split(b","):
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


def _top_matches(text: bytes) -> Iterator[re.Match[bytes]]:
    """`_TOP.finditer(text)`, tried only where a match can start: every alternative begins with a
    letter or `_` just after the newline, and most lines of a large module are indented."""
    end = 0
    match = _TOP.match
    for start in _LINE_WORD.finditer(text):
        at = start.start()
        if at >= end and (m := match(text, at)) is not None:
            end = m.end()
            yield m


def _statements(text: bytes) -> list[tuple[re.Match[bytes], bool]]:
    """The binding statements of `text` (no strings or comments, a newline first) at the top
    level and at the first indentation level of its top-level compound statements, in text
    order, each with whether a star import there is followed (not in a TYPE_CHECKING block)."""
    found: list[tuple[re.Match[bytes], bool]] = []
    for m in _top_matches(text):
        head = m.group("head")
        if head is None:
            found.append((m, True))
            continue
        if not head.rstrip().endswith(b":"):
            continue  # a one-line compound statement (`if x: y = 1`) or a bracketed header
        nxt = _NEXT_TOP.search(text, m.end())
        end = len(text) if nxt is None else nxt.start()
        first = _FIRST_INDENT.match(text, m.end() + 1, end)
        if first is None:
            continue
        indent = first.group(1)
        follow = b"TYPE_CHECKING" not in head
        found.extend((b, follow) for b in _INDENTED.finditer(text, m.end(), end) if b.group("ind") == indent)
    found.sort(key=lambda mf: mf[0].start())
    return found


def quick_read(data: bytes) -> QuickRead:
    """The names bound by statements at the top level and one level into its compound statements
    (a subset of the AST reading's), its star imports and its literal `__all__`."""
    fast = speedups.native()
    # (statement patterns start at a newline)
    text = b"\n" + (fast.strip_opaque(data) if fast is not None else _OPAQUE.sub(b"", data))
    parens = text.translate(_AS_PARENS)
    out: set[str] = set()
    stars: list[str] = []
    all_lines = 0
    pos = depth = 0
    for m, follow in _statements(text):
        at = m.start()
        depth += parens.count(b"(", pos, at) - parens.count(b")", pos, at)
        pos = at
        if depth:
            continue  # a continuation line inside brackets (`x = dict(\nname=1)`), not a statement
        if m.group("all"):
            all_lines += m.re is _TOP
            if m.group("all_bound"):
                out.add("__all__")
            continue
        name = m.group("def") or m.group("cls") or m.group("var")
        if name:
            names: list[str] | None = [name.decode()]
        elif m.group("mods") is not None:
            names = _import_names(m.group("mods"), modules=True)
        else:
            listed = m.group("plist")
            if listed is None:
                listed = m.group("list")
                if follow and listed.strip() == b"*":
                    stars.append(m.group("src").decode("ascii", "replace"))
            names = _import_names(listed, modules=False)
        for n in names or ():
            if n.isidentifier() and not keyword.iskeyword(n):
                out.add(n)
    return QuickRead(frozenset(out), tuple(dict.fromkeys(stars)), all_lines)


def literal_all(data: bytes, code_lines: int) -> tuple[str, ...] | None:
    """None when `data` never mentions `__all__`; else the strings of its literal top-level
    `__all__` statements (a subset of what the AST reading collects), trusted only when every line
    starting with `__all__` is code (`code_lines`: `QuickRead.all_lines`), else none."""
    if b"__all__" not in data:
        return None
    if data.count(b"\n__all__") + data.startswith(b"__all__") != code_lines:
        return ()
    names: list[str] = []
    for m in _ALL_STATEMENT.finditer(data):
        items = m.group("one") or m.group("items")
        names.extend((a or b).decode("utf-8", "replace") for a, b in _ITEM.findall(items) if a or b)
    return tuple(names)
