"""The package imports downward only (docs/architecture.md): no cycles, no upward or sideways
imports, no private names taken from another package."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gator_setup"
DOC = ROOT / "docs" / "architecture.md"

#: Cycles tolerated for now, each exactly as found (a frozenset of module names). Empty: the
#: mirror's four-file cycle, the last one, was removed (helper "sec", issue 15/17).
ALLOWED_CYCLES: frozenset[frozenset[str]] = frozenset()


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imported(name: str, path: Path, tree: ast.AST) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of every gator import in a module."""
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                yield target, alias.name, node.lineno


def import_graph(mods: dict[str, Path]) -> dict[str, dict[str, tuple[int, str | None]]]:
    """module -> {imported gator module: (line, imported name)}, a module's parent packages left out."""

    def owner(dotted: str) -> str | None:
        while dotted and dotted not in mods:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    graph: dict[str, dict[str, tuple[int, str | None]]] = {}
    for name, path in mods.items():
        edges: dict[str, tuple[int, str | None]] = {}
        for target, imported, line in _imported(name, path, ast.parse(path.read_bytes(), str(path))):
            if target != "gator_setup" and not target.startswith("gator_setup."):
                continue
            full = f"{target}.{imported}" if imported else target
            dep = full if full in mods else owner(target)
            if dep is None or dep == name or name.startswith(dep + "."):
                continue  # itself, or a parent package (imported first by Python anyway)
            edges.setdefault(dep, (line, imported if dep == owner(target) else None))
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, tuple[int, str | None]]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph.get(nxt, {}))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.add(member)
                    if member == node:
                        break
                if len(comp) > 1:
                    found.append(frozenset(comp))
    return found


def layers(doc: Path = DOC) -> dict[str, int]:
    """Unit (a package below gator_setup, or a root module) -> layer, from the table in the doc."""
    out: dict[str, int] = {}
    for line in doc.read_text("utf-8").splitlines():
        m = re.match(r"^\|\s*(\d+)\s*\|([^|]*)\|", line)
        if m:
            for unit in re.findall(r"`([A-Za-z_][\w.]*)`", m.group(2)):
                out[unit] = int(m.group(1))
    return out


def unit_of(module: str) -> str:
    """The layer unit of a module: its package below gator_setup, or the root module itself."""
    parts = module.split(".")
    return "gator_setup" if len(parts) == 1 else parts[1]


def _is_root(module: str) -> bool:
    """A module of the root package itself (gator_setup.errors), not of a package below it."""
    return module.count(".") <= 1 and not (PACKAGE / module.partition(".")[2]).is_dir()


GRAPH = import_graph(modules())
LAYERS = layers()


def test_the_doc_places_every_module() -> None:
    assert LAYERS, "docs/architecture.md lost its table of layers"
    unplaced = sorted({unit_of(m) for m in GRAPH} - set(LAYERS))
    assert not unplaced, f"add these to the table in docs/architecture.md: {unplaced}"


def test_no_import_cycles() -> None:
    found = cycles(GRAPH)
    unexpected = [sorted(c) for c in found if c not in ALLOWED_CYCLES]
    assert not unexpected, f"import cycles: {unexpected}"


def upward(graph: dict[str, dict[str, tuple[int, str | None]]], placed: dict[str, int]) -> list[str]:
    """Imports of a unit of the same or a higher layer (the root package's modules of one layer
    are one package: they may use each other)."""
    bad = []
    for module, edges in graph.items():
        here = unit_of(module)
        for dep, (line, _name) in edges.items():
            there = unit_of(dep)
            if there == here:
                continue
            if _is_root(module) and _is_root(dep) and placed.get(there) == placed.get(here):
                continue
            if placed.get(there, 99) >= placed.get(here, -1):
                bad.append(f"{module}:{line} imports {dep} (layer {placed.get(there)} >= {placed.get(here)})")
    return bad


def test_imports_go_down() -> None:
    bad = upward(GRAPH, LAYERS)
    assert not bad, "imports against the layering of docs/architecture.md:\n" + "\n".join(bad)


def test_no_private_names_from_other_packages() -> None:
    bad = []
    for module, edges in GRAPH.items():
        for dep, (line, name) in edges.items():
            private = (name or "").startswith("_") or dep.rpartition(".")[2].startswith("_")
            if private and unit_of(dep) != unit_of(module) and not dep.endswith("._speedups"):
                bad.append(f"{module}:{line} imports {name or dep} from {dep}")
    assert not bad, "private names used across packages:\n" + "\n".join(bad)


# -- the checker itself, on a tree made for it ---------------------------------------------------


def _tree(tmp: Path, files: dict[str, str]) -> dict[str, dict[str, tuple[int, str | None]]]:
    for rel, text in files.items():
        p = tmp / "gator_setup" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return import_graph(modules(tmp / "gator_setup"))


def test_checker_sees_cycles_through_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    graph = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "a/__init__.py": "from gator_setup.a import x\n",  # a package importing its module
            "a/x.py": "def f():\n    from gator_setup.b.y import g\n",
            "b/__init__.py": "",
            "b/y.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a.x import f\n",
            "b/z.py": "from gator_setup import b\n",  # its own parent: not an edge
        },
    )
    assert cycles(graph) == [frozenset({"gator_setup.a.x", "gator_setup.b.y"})]
    assert "gator_setup.b" not in graph["gator_setup.b.z"]


def test_checker_sees_upward_and_sideways_imports(tmp_path: Path) -> None:
    graph = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "low/__init__.py": "",
            "low/a.py": "import gator_setup.high.b\n",  # upward
            "high/__init__.py": "",
            "high/b.py": "from gator_setup.low import a\nfrom gator_setup.side import c\n",  # down; sideways
            "side/__init__.py": "",
            "side/c.py": "",
        },
    )
    found = upward(graph, {"gator_setup": 0, "low": 1, "high": 2, "side": 2})
    assert sorted(found) == [
        "gator_setup.high.b:2 imports gator_setup.side.c (layer 2 >= 2)",
        "gator_setup.low.a:1 imports gator_setup.high.b (layer 2 >= 1)",
    ]


def test_checker_reads_the_table(tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text("| layer | units |\n|---|---|\n| 0 | `errors`, `names` |\n| 2 | `cli` | x |\n")
    assert layers(doc) == {"errors": 0, "names": 0, "cli": 2}


@pytest.mark.parametrize(("module", "unit"), [("gator_setup", "gator_setup"), ("gator_setup.a.b", "a")])
def test_unit_of(module: str, unit: str) -> None:
    assert unit_of(module) == unit
