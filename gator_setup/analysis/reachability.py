"""Whether a module of an installed package is reachable from what users import, read from the code.

A module is *reachable* when one of these reaches it:
- a root: a top-level module of the distribution (what `import <package>` names) or a public direct
  child of one (`from skops import hub_utils`; no leading underscore), a module named by
  one of its entry points (console scripts, plugins), or a module the project's own code imports;
- an edge from a reachable module: an import of it (at any scope: a function-level import runs
  when the function is called; a guarded import still runs it), or a string that names it in the
  referring package (lazy-import tables such as transformers' `_import_structure`, the
  `submod_attrs` maps that a module `__getattr__` serves, `importlib.import_module(".name")`);
- a package whose `__init__` loads its submodules from its own folder (it hands `__file__` to a
  call and names none of them): every submodule of it is taken as reachable, because the code
  does not say which it loads.

The search runs backwards from the modules that hold a broken import: a referrer must mention
the module's last name part, so one byte search per round over the package's files finds the
candidates and only those are parsed. Nothing here matches file names against patterns.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gator_setup.analysis.extract import module_name

_IMPORT = re.compile(rb"^[ \t]*import[ \t]+([\w.][\w. \t,]*)", re.M)
_IMPORT_FROM = re.compile(rb"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]*(\([^)]*\)|[^\n#;]*)", re.M)
#: A string literal that may name a module: dotted identifiers, optionally relative.
_STRING = re.compile(rb"""(['"])(\.*[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\1""")
#: Rounds of the backward search (transformers needs two: modeling file <- model package <- top).
MAX_DEPTH = 8


@dataclass(frozen=True)
class Reach:
    """Whether a module is reachable and how (or why not), in words for the finding."""

    reachable: bool
    how: str


@dataclass(frozen=True)
class _Refs:
    """What one module refers to: imported modules and modules named by strings."""

    imports: frozenset[str]
    named: frozenset[str]
    loads_own_folder: bool  # a package __init__ that hands __file__ to a call


def entry_point_modules(dist_info: Path) -> dict[str, str]:
    """module -> "group name" of every entry point a distribution declares (entry_points.txt)."""
    path = dist_info / "entry_points.txt"
    try:
        text = path.read_text("utf-8", "replace")
    except OSError:
        return {}
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    out: dict[str, str] = {}
    for group in parser.sections():
        for name, value in parser.items(group):
            module = value.split(":", 1)[0].split("[", 1)[0].strip()
            if module:
                out.setdefault(module, f"{group} `{name}`")
    return out


class PackageIndex:
    """The modules of one installed distribution and the references between them."""

    def __init__(self, root: Path, rel_paths: Iterable[str], extra_modules: Iterable[str] = ()) -> None:
        """`extra_modules`: modules with no source to read (binary extension modules)."""
        self.root = root
        self.modules: dict[str, tuple[str, bool]] = {}
        for rel in rel_paths:
            got = module_name(rel)
            if got is not None and rel.endswith(".py"):
                self.modules.setdefault(got[0], (rel, got[1]))
        self._binary = {m for m in extra_modules if m not in self.modules}
        self.modules.update({m: ("", False) for m in self._binary})
        self._refs: dict[str, _Refs] = {}

    def read(self, module: str) -> bytes | None:
        rel = self.modules.get(module)
        if rel is None or module in self._binary:
            return None
        try:
            return (self.root / rel[0]).read_bytes()
        except OSError:
            return None

    def refs(self, module: str) -> _Refs:
        """The modules of this distribution that `module` imports or names (parsed once)."""
        if module not in self._refs:
            self._refs[module] = self._parse(module)
        return self._refs[module]

    def _parse(self, module: str) -> _Refs:
        # Regular expressions, not the AST: the search may read thousands of files (transformers),
        # and a string or import that a comment holds only errs towards "reachable".
        data = self.read(module) or b""
        is_pkg = self.modules[module][1]
        package = module if is_pkg else module.rpartition(".")[0]
        imports: set[str] = set()
        for m in _IMPORT.finditer(data):
            for part in m.group(1).decode("ascii", "replace").split(","):
                name = part.split(" as ", 1)[0].strip()
                if name:
                    imports.update(_prefixes(name))
        for m in _IMPORT_FROM.finditer(data):
            base = _resolve(m.group(2).decode("ascii", "replace"), len(m.group(1)), package)
            if not base:
                continue
            imports.update(_prefixes(base))
            for part in m.group(3).decode("ascii", "replace").strip("()").split(","):
                name = part.split(" as ", 1)[0].strip().strip("\\").strip()
                if name and name != "*":
                    imports.add(f"{base}.{name}")
        named: set[str] = set()
        for m in _STRING.finditer(data):
            named.update(self._named_by(m.group(2).decode("ascii", "replace"), package))
        imports = {m for m in imports if m in self.modules and m != module}
        named = {m for m in named if m != module}
        own_children = any(m.rpartition(".")[0] == package for m in imports | named)
        return _Refs(
            frozenset(imports), frozenset(named), is_pkg and b"__file__" in data and not own_children
        )

    def _named_by(self, s: str, package: str) -> set[str]:
        if s.startswith("."):
            level = len(s) - len(s.lstrip("."))
            target = _resolve(s.lstrip("."), level, package)
            return {target} if target in self.modules else set()
        top = package.split(".", 1)[0]
        return {c for c in (f"{package}.{s}", f"{top}.{s}", s) if c in self.modules}

    def referrers(self, targets: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """For each target: (module, "imports"|"names") of every module that refers to it.

        One pass over the files: only files whose bytes hold a target's last name part are parsed.
        """
        wanted = {t: t.rsplit(".", 1)[-1].encode() for t in targets}
        out: dict[str, list[tuple[str, str]]] = {t: [] for t in wanted}
        for mod in self.modules:
            data = self.read(mod)
            if data is None:
                continue
            hits = [t for t, leaf in wanted.items() if t != mod and leaf in data]
            if not hits:
                continue
            r = self.refs(mod)
            for t in hits:
                if t in r.imports:
                    out[t].append((mod, "imports"))
                elif t in r.named:
                    out[t].append((mod, "names"))
        return out


def _prefixes(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _resolve(name: str, level: int, package: str) -> str:
    if level == 0:
        return name
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return ""
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, name] if name else base)


def reachability(
    index: PackageIndex,
    targets: Iterable[str],
    roots: Mapping[str, str],
) -> dict[str, Reach]:
    """Reach of each target module. `roots`: module -> how users reach it (entry point, project,
    `import <package>` for what the package's import runs). Top-level modules are roots too."""
    # Users import a package and its public subpackages and modules by name (`from skops import
    # hub_utils`): the top level and its direct children without a leading underscore are roots.
    reached: dict[str, str] = {
        m: f"`import {m}`"
        for m in index.modules
        if m.count(".") == 0 or (m.count(".") == 1 and not m.rpartition(".")[2].startswith("_"))
    }
    reached.update({m: how for m, how in roots.items() if m in index.modules})
    via: dict[str, tuple[str, str]] = {}
    out: dict[str, Reach] = {}
    for t in dict.fromkeys(targets):
        if t not in index.modules:
            continue
        decided = t in reached or _search(index, t, reached, via)
        if t in reached:
            out[t] = Reach(True, "reached: " + _chain(t, via, reached[t]))
        elif decided:
            top = t.split(".", 1)[0]
            out[t] = Reach(
                False,
                f"nothing users import reaches `{t}`: no module of {top} imports it or names it "
                "(lazy-import tables), and no entry point or project file imports it",
            )
        else:  # the search stopped early: do not claim it is unreachable
            out[t] = Reach(True, f"reachability of `{t}` not decided within {MAX_DEPTH} rounds")
    return out


def _search(
    index: PackageIndex, target: str, reached: dict[str, str], via: dict[str, tuple[str, str]]
) -> bool:
    """Backward search from `target`; fills `reached`/`via`. False when it stopped undecided."""
    edges: dict[str, list[tuple[str, str]]] = {}
    frontier = [target]
    seen = {target}
    for _round in range(MAX_DEPTH):
        found = index.referrers(frontier)
        for t in frontier:
            parent = t.rpartition(".")[0]
            if parent in index.modules and index.refs(parent).loads_own_folder:
                found[t].append((parent, "loads the modules of its folder (`__file__`), so"))
        edges.update(found)
        nxt: list[str] = []
        for refs in found.values():
            for ref, _kind in refs:
                if ref not in seen:
                    seen.add(ref)
                    nxt.append(ref)
        changed = True
        while changed:  # a referrer known reachable makes what it refers to reachable
            changed = False
            for t, refs in edges.items():
                if t in reached:
                    continue
                for ref, kind in refs:
                    if ref in reached:
                        reached[t] = reached[ref]
                        via[t] = (ref, kind)
                        changed = True
                        break
        if target in reached:
            return True
        frontier = [m for m in nxt if m not in reached]
        if not frontier:
            return True
    return False


def _chain(module: str, via: Mapping[str, tuple[str, str]], root: str) -> str:
    steps = []
    cur = module
    for _ in range(MAX_DEPTH + 1):
        if cur not in via:
            break
        ref, kind = via[cur]
        steps.append(f"{ref} {kind} {cur}")
        cur = ref
    return "; ".join(reversed(steps)) + f" (from {root})" if steps else root


def reach_for(
    index: PackageIndex, modules: Iterable[str], dist_info: Path | None, extra_roots: Mapping[str, str] = {}
) -> dict[str, Reach]:
    """Reach of `modules` with the distribution's entry points and `extra_roots` as roots."""
    roots: dict[str, str] = {}
    if dist_info is not None:
        roots.update({m: f"the entry point {how}" for m, how in entry_point_modules(dist_info).items()})
    roots.update(extra_roots)
    return reachability(index, modules, roots)
