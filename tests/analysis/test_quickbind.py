"""The regex reading of top-level bindings: what it proves, what it leaves to the AST, and that it
never claims a name the AST reading does not export (real modules)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from gator_setup.analysis import Provider, Providers, provider_exports
from gator_setup.analysis.exports import ExportReader
from gator_setup.analysis.model import ImportRef
from gator_setup.analysis.quickbind import literal_all, quick_read

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
    if True:
        deeper = 6
    def in_block(): pass
    call(
    kwarg_in_block=1)
else:
    from .other import *
try:
    tried = 1
finally:
    pass
if TYPE_CHECKING:
    from .typing_only import *
    typed = 1
if x: one_line = 1
def body():
    in_function = 1
class Body:
    in_class = 1
CMP == 3
__all__ = ["listed"]
'''


def test_bindings_found_and_left_to_the_ast() -> None:
    got = quick_read(SOURCE).names
    assert {"os", "js", "a", "P1", "P2_alias", "single", "renamed", "coro", "func", "Klass"} <= got
    assert {"VAR", "ANN", "x", "s", "__all__"} <= got
    # the first level of a top-level if / else / try block (the AST reading walks those)
    assert {"nested", "in_block", "tried", "typed"} <= got
    # not proven here: strings, comments, brackets, deeper levels, function and class bodies,
    # one-line compound statements, aliased-away names, keywords, backslash-continued imports
    # (the AST decides those)
    for name in (
        "deeper",
        "kwarg_in_block",
        "one_line",
        "in_function",
        "in_class",
        "listed",
        "in_docstring",
        "InDocstring",
        "P2",
        "other",
        "in_brackets",
        "fake_kw",
        "in_string",
        "commented",
        "else",
        "try",
        "finally",
        "CMP",
        "cont",
        "continued",
        "json",
    ):
        assert name not in got, name
    assert quick_read(b"").names == frozenset()


def test_star_imports_and_literal_all() -> None:
    read = quick_read(SOURCE)
    # followed by the caller, except in a TYPE_CHECKING block (as the AST reading does for lazy
    # modules); `from z import *` is at the top level, `.other` one level into an else block
    assert read.stars == ("z", ".other")
    assert read.all_lines == 1
    assert literal_all(SOURCE, read.all_lines) == ("listed",)
    assert literal_all(b"X = 1\n", 0) is None  # no __all__: a star import brings public names
    extended = b'__all__ = ["a"]  # c\n__all__ += ("b",)\n__all__.extend(["c"])\n__all__.append("d")\n'
    assert literal_all(extended, quick_read(extended).all_lines) == ("a", "b", "c", "d")
    # not a literal list: trusted as an __all__ (so no public-name fallback) but brings nothing
    computed = b"__all__ = other.__all__ + ['x']\n"
    assert literal_all(computed, quick_read(computed).all_lines) == ()
    # an `__all__` line inside a string cannot be told from code: none is trusted
    in_string = b'__all__ = ["a"]\ns = """\n__all__ = ["fake"]\n"""\n'
    assert literal_all(in_string, quick_read(in_string).all_lines) == ()
    commented = b'__all__ = [\n    "a",  # "not_a_name"\n]\n'
    assert literal_all(commented, quick_read(commented).all_lines) == ("a",)


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
        extra = quick_read(f.read_bytes()).names - exp.names - exp.submodules
        assert not extra, (module, sorted(extra))
        # with the names its star imports bring, as the reader follows them
        quick = ExportReader(lib)
        extra = {n for n in exp.names | _probe_names(f) if quick.surely_exports(module, n)}
        extra -= exp.names | exp.submodules
        assert not extra, (module, sorted(extra))
        checked += 1
    assert checked > 60


def _probe_names(f: Path) -> set[str]:
    """Names worth asking about: every identifier in the file (those not exported included)."""
    import re

    return {w.decode() for w in re.findall(rb"[A-Za-z_]\w*", f.read_bytes())}


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
    (pkg / "dyn.py").write_text("from ._native import *\n")  # names open-ended: none is missing
    (pkg / "_native.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    names = ["X", "f", "A", "B", "sub", "core", "NESTED", "only_in_a_string", "missing"]
    refs = [ImportRef("prov", n, 1) for n in names]
    refs += [ImportRef("prov.core", "B", 1), ImportRef("prov.dyn", "anything", 1)]

    def verdicts() -> list[object]:
        p = Providers([Provider("prov", "prov", "1.0", tmp_path)])
        return [None if (u := p.resolve(r)) is None else (u.kind, u.missing) for r in refs]

    fast = verdicts()
    monkeypatch.setattr(ExportReader, "surely_exports", lambda self, module, name: False)
    monkeypatch.setattr(ExportReader, "surely_dynamic", lambda self, module: False)
    assert fast == verdicts()
    assert [n for n, v in zip(names, fast, strict=False) if v is not None] == [
        "B",
        "only_in_a_string",
        "missing",
    ]


@pytest.mark.parametrize(
    ("init", "dynamic"),
    [
        ("from ._native import *\n", True),  # a compiled extension: names unknown
        ("if True:\n    from otherpkg import *\n", True),  # another package
        ("from .gone import *\n", True),  # not there
        ("from .core import *\n", False),  # followed: its names are known
        # in a TYPE_CHECKING block: not claimed (the AST reading decides whether it counts)
        ("if TYPE_CHECKING:\n    from ._native import *\n", False),
    ],
)
def test_surely_dynamic_agrees_with_the_ast_reading(tmp_path: Path, init: str, dynamic: bool) -> None:
    pkg = tmp_path / "prov"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from typing import TYPE_CHECKING\n" + init)
    (pkg / "core.py").write_text("A = 1\n")
    (pkg / "_native.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    reader = ExportReader(tmp_path)
    assert reader.surely_dynamic("prov") is dynamic
    exp = provider_exports(tmp_path, "prov")
    assert exp is not None and (exp.dynamic or not dynamic)  # one-sided, as surely_exports
