"""The regex reading of top-level bindings: what it proves, what it leaves to the AST, and that it
never claims a name the AST reading does not export (real modules)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from gator_setup.analysis import Provider, Providers, provider_exports
from gator_setup.analysis.exports import ExportReader
from gator_setup.analysis.model import ImportRef
from gator_setup.analysis.quickbind import surely_bound

SOURCE = b'''"""Docstring with example code at column 0:
def in_docstring(): pass
class InDocstring: pass
"""
import os, json as js
import a.b.c
from x import (
    P1,
    P2 as P2_alias,  # a comment
)
from y import single, other as renamed
from z import *
from w import cont, \\
    continued
async def coro(): pass
def func(a=(
fake_kw=1)): pass
class Klass(object): pass
VAR = 1
ANN: int = 2
x = dict(
in_brackets=1,
)
s = """
in_string = 3
"""
# commented = 4
if True:
    nested = 5
else:
    pass
try:
    tried = 1
finally:
    pass
CMP == 3
'''


def test_bindings_found_and_left_to_the_ast() -> None:
    got = surely_bound(SOURCE)
    assert {"os", "js", "a", "P1", "P2_alias", "single", "renamed", "coro", "func", "Klass"} <= got
    assert {"VAR", "ANN", "x", "s"} <= got
    # not proven here: strings, comments, brackets, nested blocks, aliased-away names, keywords,
    # backslash-continued imports (the AST decides those)
    for name in (
        "in_docstring",
        "InDocstring",
        "P2",
        "other",
        "in_brackets",
        "fake_kw",
        "in_string",
        "commented",
        "nested",
        "tried",
        "else",
        "try",
        "finally",
        "CMP",
        "cont",
        "continued",
        "json",
    ):
        assert name not in got, name
    assert surely_bound(b"") == frozenset()


def _stdlib_sample(n: int) -> list[Path]:
    lib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in lib.glob("*.py") if p.stem.isidentifier())
    return (
        files[: n // 2]
        + [p for p in sorted(lib.glob("*/__init__.py")) if p.parent.name.isidentifier()][: n // 2]
    )


def test_never_claims_a_name_the_ast_reading_lacks() -> None:
    files = _stdlib_sample(120)
    assert len(files) > 60
    lib = Path(sysconfig.get_paths()["stdlib"])
    checked = 0
    for f in files:
        module = f.parent.name if f.name == "__init__.py" else f.stem
        exp = provider_exports(lib, module)
        if exp is None or exp.reason.startswith("unreadable"):
            continue
        extra = surely_bound(f.read_bytes()) - exp.names - exp.submodules
        assert not extra, (module, sorted(extra))
        checked += 1
    assert checked > 60


def test_resolution_gives_the_same_verdicts_with_and_without_the_shortcut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "prov"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from .core import *\nfrom . import sub\nX = 1\ndef f(): pass\n"
        '"""\ndef only_in_a_string(): pass\n"""\n'
        "if True:\n    NESTED = 1\n"
    )
    (pkg / "core.py").write_text("__all__ = ['A']\nA = 1\nB = 2\n")
    (pkg / "sub" / "__init__.py").write_text("")
    names = ["X", "f", "A", "B", "sub", "core", "NESTED", "only_in_a_string", "missing"]
    refs = [ImportRef("prov", n, 1) for n in names] + [ImportRef("prov.core", "B", 1)]

    def verdicts() -> list[object]:
        p = Providers([Provider("prov", "prov", "1.0", tmp_path)])
        return [None if (u := p.resolve(r)) is None else (u.kind, u.missing) for r in refs]

    fast = verdicts()
    monkeypatch.setattr(ExportReader, "surely_exports", lambda self, module, name: False)
    assert fast == verdicts()
    assert [n for n, v in zip(names, fast, strict=False) if v is not None] == [
        "B",
        "only_in_a_string",
        "missing",
    ]
