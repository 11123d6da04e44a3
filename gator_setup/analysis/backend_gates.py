"""Minimum backend versions a library states in its availability checks, read statically.

Libraries switch a backend off by version: transformers 5.x's `is_torch_available()` returns False
(logging "Disabling PyTorch because PyTorch >= 2.6 is required") when torch is older, and every
model class then fails. A gate is a function `is_<backend>_available()` whose body compares a
version with `>=`/`>` against a literal (`version.parse(x) >= version.parse("2.6.0")`); the backend
is the distribution of that name.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator
from typing import NamedTuple

# (matched at a line's start)
_DEF_LINE = re.compile(rb"([ \t]*)def is_[A-Za-z0-9_]+_available\s*\(")
# a `>` that is not a return annotation's `->`: the only text a `>=` / `>` comparison can come from
_GREATER = re.compile(r"(?<!-)>")


class Gate(NamedTuple):
    """`is_<backend>_available()` requires backend >= minimum (at file:line)."""

    backend: str
    minimum: str
    line: int
    function: str = ""  # the <name> of is_<name>_available


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and node.args and not node.keywords:
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if name in ("parse", "Version", "LooseVersion"):
            return _literal(node.args[0])
    return None


def _mentions_version(node: ast.expr) -> bool:
    return any(
        (isinstance(n, ast.Name) and "version" in n.id.lower())
        or (isinstance(n, ast.Attribute) and "version" in n.attr.lower())
        or (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and "version" in n.func.id.lower())
        for n in ast.walk(node)
    )


def _asked_package(fn: ast.FunctionDef) -> str | None:
    """The package an availability function looks up (`_is_package_available("sudachipy", ...)`)."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and node.args:
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            arg = node.args[0]
            if (
                any(w in name.lower() for w in ("available", "version", "spec"))
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and re.fullmatch(r"[A-Za-z_][\w.-]*", arg.value)
            ):
                return arg.value
    return None


def _def_lines(source: bytes) -> Iterator[tuple[int, int, int]]:
    """(line index, offset, indent width) of each `def is_<x>_available(` line of `source`: the
    matches of `_DEF_LINE`, found from the `def is_` occurrences (rare) instead of at every line."""
    line = last = 0
    at = source.find(b"def is_")
    while at >= 0:
        start = source.rfind(b"\n", 0, at) + 1
        m = _DEF_LINE.match(source, start) if not source[start:at].strip(b" \t") else None
        if m is not None and m.end(1) == at:
            line += source.count(b"\n", last, start)
            last = start
            yield line, start, len(m.group(1).expandtabs())
        at = source.find(b"def is_", at + 7)


def _block(source: bytes, start: int, indent: int) -> str:
    """The lines of the function whose `def` line starts at `start`: up to the first line (not a
    closing bracket or a comment) indented no deeper than the `def`, dedented. (Each line is
    decoded alone: a newline byte never lies inside a UTF-8 sequence, so the text is the whole
    file's decoded text, lines included.)"""
    lines: list[str] = []
    pos = start
    while True:
        nl = source.find(b"\n", pos)
        body = (source[pos:] if nl < 0 else source[pos:nl]).decode("utf-8", "replace")
        if lines:
            stripped = body.lstrip()
            dedented = stripped and len(body[: len(body) - len(stripped)].expandtabs()) <= indent
            if dedented and not stripped.startswith((")", "#")):
                break
        lines.append(body)
        if nl < 0:
            break
        pos = nl + 1
    return textwrap.dedent("\n".join(lines))


def _function_trees(source: bytes) -> Iterator[tuple[int, ast.Module | None]]:
    """(line offset, parsed tree) of each availability function alone, or of the whole module.

    Parsing only the `def is_<x>_available` blocks skips the rest of a large module (torch's and
    transformers' files are mostly other code); a block that does not parse on its own (a string
    that runs back to column 0, say) falls back to the whole module, so no gate is lost. A block
    without a `>` (other than `->`) holds no `>=`/`>` comparison: it is parsed (to notice a block
    that does not parse) but its tree is not kept (None), so it is not walked.
    """
    trees: list[tuple[int, ast.Module | None]] = []
    try:
        for first, start, indent in _def_lines(source):
            block = _block(source, start, indent)
            tree = ast.parse(block)
            trees.append((first, tree if _GREATER.search(block) else None))
    except (SyntaxError, ValueError):
        try:
            trees = [(0, ast.parse(source))]
        except (SyntaxError, ValueError):
            trees = []
    yield from trees


def gates_in_source(source: bytes) -> list[Gate]:
    """Every minimum-version gate in one module's availability functions."""
    out: list[Gate] = []
    for offset, tree in _function_trees(source):
        if tree is not None:
            out.extend(_gates_in_tree(tree, offset))
    return out


def _gates_in_tree(tree: ast.Module, offset: int) -> list[Gate]:
    out: list[Gate] = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        m = re.fullmatch(r"is_([A-Za-z0-9_]+)_available", fn.name)
        if m is None or fn.args.args:
            continue
        found: list[Gate] = []
        for node in ast.walk(fn):
            if not isinstance(node, ast.Compare) or len(node.ops) != 1:
                continue
            op, right = node.ops[0], node.comparators[0]
            lit = _literal(right)
            if lit is None or not _mentions_version(node.left) or not re.match(r"^\d+(\.\d+)*", lit):
                continue
            if isinstance(op, ast.GtE | ast.Gt):
                found.append(Gate(m.group(1), lit, node.lineno + offset))
        if found:  # the strictest one stated, for the package the function asks about
            best = max(found, key=lambda g: tuple(int(p) for p in re.findall(r"\d+", g.minimum)[:3]))
            out.append(Gate(_asked_package(fn) or best.backend, best.minimum, best.line, m.group(1)))
    return out
