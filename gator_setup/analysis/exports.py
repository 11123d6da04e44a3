"""Read, without importing it, which names a provider module exports."""

from __future__ import annotations

import ast
import contextlib
import os
import warnings
from pathlib import Path

from gator_setup.analysis.extract import resolve_relative
from gator_setup.analysis.model import ExportSet
from gator_setup.analysis.quickbind import QuickRead, literal_all, quick_read

_EXT_SUFFIXES = (".so", ".pyd")
# Tables lazy loaders read names from: huggingface_hub (`_SUBMOD_ATTRS`, a vendored
# lazy_loader), transformers and diffusers (`_import_structure`, given to `_LazyModule`).
_LAZY_TABLES = ("_SUBMOD_ATTRS", "_import_structure")


def find_module_file(root: Path, module: str) -> tuple[Path | None, bool, str]:
    """(file, is_package, kind) of `module` under `root`; kind is source/namespace/extension/missing."""
    parts = module.split(".")
    base = os.path.join(root, *parts)  # (os.path: a scan asks this hundreds of times; pathlib is slower)
    init = os.path.join(base, "__init__.py")
    if os.path.isfile(init):
        return Path(init), True, "source"
    py = base + ".py"
    if os.path.isfile(py):
        return Path(py), False, "source"
    parent = os.path.dirname(base)
    prefix = parts[-1] + "."
    try:
        if os.path.isdir(parent):
            for entry in os.scandir(parent):
                if entry.name.startswith(prefix) and entry.name.endswith(_EXT_SUFFIXES):
                    return Path(entry.path), False, "extension"
    except OSError:
        pass
    if os.path.isdir(base):
        return None, True, "namespace"
    return None, False, "missing"


def list_submodules(pkg_dir: Path) -> frozenset[str]:
    """Names importable as `pkg.<name>`: modules, packages, compiled extensions."""
    out: set[str] = set()
    try:
        entries = list(os.scandir(pkg_dir))
    except OSError:
        return frozenset()
    for e in entries:
        name = e.name
        if name.startswith((".", "__pycache__")):
            continue
        if name.endswith(".py") and name != "__init__.py":
            stem = name[:-3]
        elif name.endswith(_EXT_SUFFIXES):
            stem = name.split(".", 1)[0]
        else:
            try:
                is_dir = e.is_dir()
            except OSError:
                continue
            if not is_dir or "." in name or "-" in name:
                continue
            stem = name
        if stem.isidentifier():
            out.add(stem)
    return frozenset(out)


def _str_elts(node: ast.expr) -> list[str]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    return []


def _target_names(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for e in node.elts for n in _target_names(e)]
    if isinstance(node, ast.Starred):
        return _target_names(node.value)
    return []


class _Reader:
    """Reads export sets under one root, memoised, following star imports."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.memo: dict[str, tuple[ExportSet, tuple[str, ...] | None] | None] = {}
        self.active: set[str] = set()
        self._found: dict[str, tuple[Path | None, bool, str]] = {}

    def locate(self, module: str) -> tuple[Path | None, bool, str]:
        """`find_module_file(self.root, module)`, asked once per module."""
        got = self._found.get(module)
        if got is None:
            got = self._found[module] = find_module_file(self.root, module)
        return got

    def read(self, module: str) -> tuple[ExportSet, tuple[str, ...] | None] | None:
        if module in self.memo:
            return self.memo[module]
        if module in self.active:
            return ExportSet(module, frozenset(), dynamic=True, reason="circular star import"), None
        self.active.add(module)
        try:
            result = self._read(module)
        finally:
            self.active.discard(module)
        self.memo[module] = result
        return result

    def _read(self, module: str) -> tuple[ExportSet, tuple[str, ...] | None] | None:
        path, is_pkg, kind = self.locate(module)
        pkg_dir = self.root.joinpath(*module.split("."))
        subs = list_submodules(pkg_dir) if is_pkg else frozenset()
        if kind == "missing":
            return None
        if kind == "extension":
            return ExportSet(module, frozenset(), dynamic=True, reason="compiled extension"), None
        if kind == "namespace" or path is None:
            return ExportSet(module, frozenset(), subs, reason="namespace package"), None
        try:
            data = path.read_bytes()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(data, filename=str(path))
        except (OSError, SyntaxError, ValueError, RecursionError) as exc:
            return ExportSet(module, frozenset(), subs, dynamic=True, reason=f"unreadable: {exc}"), None
        st = _State(self, module, is_pkg)
        st.lazy_module = b"sys.modules[__name__]" in data
        st.walk(tree.body)
        dynamic_reasons = list(st.dynamic)
        if st.has_getattr and not st.lazy_tables:
            dynamic_reasons.append("module __getattr__")
        names = set(st.names) | set(st.all or ())
        return (
            ExportSet(
                module,
                frozenset(names),
                subs,
                dynamic=bool(dynamic_reasons),
                reason="; ".join(sorted(set(dynamic_reasons))),
            ),
            tuple(st.all) if st.all is not None else None,
        )


class _State:
    def __init__(self, reader: _Reader, module: str, is_pkg: bool) -> None:
        self.reader = reader
        self.module = module
        self.is_pkg = is_pkg
        self.names: set[str] = set()
        self.all: list[str] | None = None
        self.lazy_tables: set[str] = set()
        self.has_getattr = False
        self.dynamic: list[str] = []
        self.lazy_module = False
        self.type_checking = 0

    def walk(self, body: list[ast.stmt]) -> None:
        for node in body:
            self.stmt(node)

    def _lazy_values(self, table: str, value: ast.expr) -> None:
        if isinstance(value, ast.Dict):
            self.lazy_tables.add(table)
            for k, v in zip(value.keys, value.values, strict=False):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    self.names.add(k.value.split(".", 1)[0])
                self.names.update(_str_elts(v))

    def stmt(self, node: ast.stmt) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.names.add(node.name)
            if node.name == "__getattr__":
                self.has_getattr = True
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                for n in _target_names(t):
                    self.names.add(n)
                    if n == "__getattr__":
                        self.has_getattr = True
                    elif n == "__all__":
                        self.all = [*(self.all or []), *_str_elts(node.value)]
                    elif n in _LAZY_TABLES:
                        self._lazy_values(n, node.value)
                # `_import_structure["models.x"] = ["A", "B"]`
                if isinstance(t, ast.Subscript):
                    base = t.value
                    if isinstance(base, ast.Name) and base.id in _LAZY_TABLES:
                        self.names.update(_str_elts(node.value))
                        sl = t.slice
                        if isinstance(sl, ast.Constant) and isinstance(sl.value, str):
                            self.names.add(sl.value.split(".", 1)[0])
                    elif (
                        _is_sys_modules(base)
                        and isinstance(node.value, ast.Call)
                        and not any(
                            isinstance(a, ast.Name) and a.id in self.lazy_tables
                            for a in [*node.value.args, *(k.value for k in node.value.keywords)]
                        )
                    ):
                        self.dynamic.append("module replaced in sys.modules by a computed lazy module")
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            for n in _target_names(node.target):
                self.names.add(n)
                if n == "__all__" and node.value is not None:
                    self.all = [*(self.all or []), *_str_elts(node.value)]
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            self._call(node.value)
        elif isinstance(node, ast.Import):
            for a in node.names:
                self.names.add(a.asname or a.name.split(".", 1)[0])
        elif isinstance(node, ast.ImportFrom):
            self._import_from(node)
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            self.type_checking += 1
            self.walk(node.body)
            self.type_checking -= 1
            self.walk(node.orelse)
        elif isinstance(node, (ast.If, ast.While)):
            self.walk(node.body)
            self.walk(node.orelse)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.names.update(_target_names(node.target))
            self.walk(node.body)
            self.walk(node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self.names.update(_target_names(item.optional_vars))
            self.walk(node.body)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self.walk(node.body)  # type: ignore[attr-defined]
            for h in node.handlers:  # type: ignore[attr-defined]
                if h.name:
                    self.names.add(h.name)
                self.walk(h.body)
            self.walk(node.orelse)  # type: ignore[attr-defined]
            self.walk(node.finalbody)  # type: ignore[attr-defined]

    def _call(self, call: ast.Call) -> None:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return
        base = func.value
        # `__all__.extend([...])`, `_import_structure["x"].extend([...])`, `.append("x")`, `.update({})`
        if isinstance(base, ast.Name) and base.id == "__all__" and func.attr in ("extend", "append"):
            self.all = [*(self.all or []), *[n for a in call.args for n in _str_elts(a)]]
        elif isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name):
            if base.value.id in _LAZY_TABLES and func.attr in ("extend", "append", "update", "add"):
                self.names.update(n for a in call.args for n in _str_elts(a))
        elif isinstance(base, ast.Name) and base.id in _LAZY_TABLES and func.attr == "update":
            for a in call.args:
                self._lazy_values(base.id, a)
        elif (
            isinstance(base, ast.Call)
            and isinstance(base.func, ast.Name)
            and base.func.id in ("globals", "vars")
            and func.attr in ("update", "setdefault", "__setitem__")
        ):
            self.dynamic.append("names added through globals()")

    def _import_from(self, node: ast.ImportFrom) -> None:
        target = resolve_relative(node.module, node.level, self.module, self.is_pkg)
        for a in node.names:
            if a.name != "*":
                self.names.add(a.asname or a.name)
                continue
            if target is None:
                self.dynamic.append("unresolvable star import")
                continue
            if (
                self.type_checking
                and (self.lazy_module or self.lazy_tables)
                and self.reader.locate(target)[1]
            ):
                # A lazy module's TYPE_CHECKING star imports of whole packages mirror its lazy
                # table; following them would parse every model file of transformers for nothing.
                # (Star imports of plain modules, such as diffusers' dummy objects, are followed.)
                continue
            got = self.reader.read(target) if target.split(".")[0] == self.module.split(".")[0] else None
            if got is None:
                # A star import from another distribution (or a missing module): names unknown here.
                self.dynamic.append(f"star import from {target}")
                continue
            exp, all_ = got
            if exp.dynamic:
                self.dynamic.append(f"star import from {target} ({exp.reason})")
            if all_ is not None:
                self.names.update(all_)
            else:
                self.names.update(n for n in exp.names if not n.startswith("_"))


def _is_sys_modules(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "modules" and _name_is(node.value, "sys")


def _name_is(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def provider_exports(root: Path, module: str) -> ExportSet | None:
    """The names `module` exports when imported from `root` (a sys.path entry); None if absent."""
    got = _Reader(Path(root)).read(module)
    return None if got is None else got[0]


class ExportReader:
    """provider_exports over one root, memoised across many modules (one per provider install)."""

    def __init__(self, root: Path) -> None:
        self._reader = _Reader(Path(root))
        self.root = Path(root)
        self._quick: dict[str, frozenset[str]] = {}
        self._bound: dict[str, frozenset[str]] = {}
        self._reads: dict[str, tuple[QuickRead, Path, bool] | None] = {}
        self._following: set[str] = set()

    def exports(self, module: str) -> ExportSet | None:
        got = self._reader.read(module)
        return None if got is None else got[0]

    def surely_exports(self, module: str, name: str) -> bool:
        """True when `name` is certainly importable from `module` (a submodule, or bound by a
        statement seen without parsing); False means "ask exports()"."""
        memo = self._reader.memo
        if module in memo:  # already read in full: that answer is exact and free
            got = memo[module]
            return got is not None and got[0].has(name) is True
        quick = self._quick.get(module)
        if quick is None:
            quick = self._surely_bound(module)
            found = self._quick_read(module)  # (read already: memoised)
            if found is not None and found[2]:
                quick |= list_submodules(found[1].parent)
            self._quick[module] = quick
        return name in quick

    def _surely_bound(self, module: str) -> frozenset[str]:
        """Names `module` surely binds (quickbind), with those its star imports surely bring,
        followed as the AST reading follows them (within the same top-level package)."""
        got = self._bound.get(module)
        if got is not None:
            return got
        found = self._quick_read(module)
        if found is None:
            return frozenset()
        read, _path, is_pkg = found
        names = set(read.names)
        self._following.add(module)
        try:
            for src in read.stars:
                names |= self._star_names(src, module, is_pkg)
        finally:
            self._following.discard(module)
        got = self._bound[module] = frozenset(names)
        return got

    def surely_dynamic(self, module: str) -> bool:
        """True when the AST reading surely finds `module`'s names open-ended, so that no name is
        judged missing from it: it has a star import (seen as `_surely_bound` sees them) from
        another package, a compiled extension or a module that is not there."""
        found = self._quick_read(module)
        if found is None:
            return False
        read, _path, is_pkg = found
        for src in read.stars:
            target = _star_target(src, module, is_pkg)
            if target is None or self._reader.locate(target)[2] in ("extension", "missing"):
                return True
        return False

    def _star_names(self, src: str, module: str, is_pkg: bool) -> frozenset[str]:
        """The names `from <src> import *` in `module` surely brings: the target's literal
        `__all__` when it has one (the AST reading takes all of `__all__`), else its public names."""
        target = _star_target(src, module, is_pkg)
        if target is None or target in self._following:
            return frozenset()  # the AST reading brings nothing either, or decides alone
        found = self._quick_read(target)
        if found is None:
            return frozenset()
        read, path, _is_pkg = found
        try:
            listed = literal_all(path.read_bytes(), read.all_lines)
        except OSError:
            return frozenset()
        if listed is not None:
            return frozenset(listed)
        return frozenset(n for n in self._surely_bound(target) if not n.startswith("_"))

    def _quick_read(self, module: str) -> tuple[QuickRead, Path, bool] | None:
        if module in self._reads:
            return self._reads[module]
        path, is_pkg, kind = self._reader.locate(module)
        got = None
        if kind == "source" and path is not None:
            with contextlib.suppress(OSError):
                got = quick_read(path.read_bytes()), path, is_pkg
        self._reads[module] = got
        return got

    def exists(self, module: str) -> bool:
        return self._reader.locate(module)[2] != "missing"


def _star_target(src: str, module: str, is_pkg: bool) -> str | None:
    """The module `from <src> import *` in `module` reads names from, as the AST reading follows
    star imports: None when it cannot be resolved or lies in another top-level package."""
    bare = src.lstrip(".")
    target = resolve_relative(bare or None, len(src) - len(bare), module, is_pkg)
    return target if target is not None and target.split(".")[0] == module.split(".")[0] else None
