"""AST extraction of imports and provider calls from one source file, with a byte pre-filter."""

from __future__ import annotations

import ast
import functools
import warnings
from collections.abc import Callable, Collection, Iterable
from typing import Any

from gator_setup.analysis.model import CallUse, FileAnalysis, ImportRef, Scope, SourceProblem

# Handlers that swallow a failed import: an import inside such a try is optional by design.
_IMPORT_HANDLERS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
# Words in an `if` test that make the branch an availability / version switch
# (`is_torch_available()`, `sys.version_info`, `HAS_XET`, `find_spec(...)`, `hasattr(mod, ...)`).
_GUARD_WORDS = ("available", "version", "find_spec", "hasattr", "importlib", "has_", "installed")
_STMT_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_STMT_NODES = (ast.stmt, ast.excepthandler, *((ast.match_case,) if hasattr(ast, "match_case") else ()))
_SUBPROCESS_FUNCS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "os.system",
        "os.popen",
    }
)


def needs_scan(data: bytes, needles: Iterable[bytes]) -> bool:
    """Fast pre-filter: only files whose bytes mention a watched name are parsed."""
    return any(n in data for n in needles)


def module_name(rel_path: str) -> tuple[str, bool] | None:
    """`pkg/sub/mod.py` -> ("pkg.sub.mod", False); `pkg/__init__.py` -> ("pkg", True)."""
    parts = _module_parts(rel_path)
    return None if parts is None else (".".join(parts[0]), parts[1])


def top_package(rel_path: str) -> str | None:
    """The first part of `module_name(rel_path)` (`pkg/sub/mod.py` -> "pkg"), without building
    the whole name: the scan asks it of every file holding a watched name."""
    parts = _module_parts(rel_path)
    return None if parts is None else parts[0][0]


def _module_parts(rel_path: str) -> tuple[tuple[str, ...], bool] | None:
    folder, sep, fname = rel_path.replace("\\", "/").rpartition("/")
    if not fname.endswith((".py", ".pyi")):
        return None
    package = _package_parts(folder) if sep else ()
    if package is None:
        return None
    stem = fname.rsplit(".", 1)[0]
    if stem == "__init__":
        return (package, True) if package else None
    return ((*package, stem), False) if stem.isidentifier() else None


@functools.lru_cache(maxsize=4096)
def _package_parts(folder: str) -> tuple[str, ...] | None:
    """A folder's names as a package path, or None when one is not an identifier (memoised: the
    files of a folder share it)."""
    parts = tuple(folder.split("/"))
    return parts if all(p.isidentifier() for p in parts) else None


def resolve_relative(module: str | None, level: int, current: str | None, is_package: bool) -> str | None:
    """Absolute module of `from <level dots><module> import ...` inside `current`; None if unknown."""
    if level == 0:
        return module
    if not current:
        return None
    parts = current.split(".")
    keep = len(parts) - level + (1 if is_package else 0)
    if keep <= 0:
        return None
    base = ".".join(parts[:keep])
    return f"{base}.{module}" if module else base


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _handler_names(handler: ast.ExceptHandler) -> list[str]:
    if handler.type is None:
        return ["BaseException"]
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    out = []
    for n in nodes:
        d = _dotted(n)
        if d:
            out.append(d.rsplit(".", 1)[-1])
    return out


def _try_guards_body(node: ast.Try | ast.TryStar) -> bool:
    return any(
        name in _IMPORT_HANDLERS or "Import" in name or "NotAvailable" in name or "Dependency" in name
        for h in node.handlers
        for name in _handler_names(h)
    )


def _try_guards_else(node: ast.Try | ast.TryStar) -> bool:
    # transformers/diffusers: `try: if not is_x_available(): raise OptionalDependencyNotAvailable()
    # except OptionalDependencyNotAvailable: ... else: from .x import Y` -- the else runs only
    # when the optional dependency is there.
    return any(
        "NotAvailable" in name or "Dependency" in name for h in node.handlers for name in _handler_names(h)
    )


def _if_guard(test: ast.expr) -> str | None:
    words: list[str] = []
    for n in ast.walk(test):
        if isinstance(n, ast.Name):
            words.append(n.id)
        elif isinstance(n, ast.Attribute):
            words.append(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            words.append(n.value)
    if "TYPE_CHECKING" in words:
        return "type-checking"
    if "__name__" in words and "__main__" in words:
        return "main"
    low = [w.lower() for w in words]
    if any(g in w for w in low for g in _GUARD_WORDS):
        return "if"
    return None


class _Visitor(ast.NodeVisitor):
    def __init__(
        self, current: str | None, is_package: bool, watched: Collection[str] | None, calls: bool = True
    ) -> None:
        self.with_calls = calls
        self.current = current
        self.is_package = is_package
        self.watched = watched
        self.imports: list[ImportRef] = []
        self.calls: list[CallUse] = []
        self.guards: list[str] = []
        self.depth = 0
        # local name -> provider-qualified name, for resolving call targets
        self.aliases: dict[str, str] = {}

    def visit(self, node: ast.AST) -> Any:
        # NodeVisitor.visit looks the method up by name for every node; a per-class table is
        # several times cheaper on the large files the deprecation pass parses.
        cls = type(node)
        method = _DISPATCH.get(cls)
        if method is None:
            found: Callable[[_Visitor, Any], Any] = getattr(
                _Visitor, "visit_" + cls.__name__, _Visitor.generic_visit
            )
            if found is ast.NodeVisitor.visit_Constant:  # (its only job: legacy visit_Num & co.)
                found = _Visitor.generic_visit
            method = _DISPATCH[cls] = found
        return method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        if self.with_calls:
            # ast.NodeVisitor.generic_visit, minus `ctx` (Load/Store/Del nodes: nothing below them)
            for name in node._fields:
                if name == "ctx":
                    continue
                value = getattr(node, name, None)
                if isinstance(value, list):
                    for item in value:
                        if isinstance(item, ast.AST):
                            self.visit(item)
                elif isinstance(value, ast.AST):
                    self.visit(value)
            return
        # Imports are statements: without call analysis, expressions need not be walked at all,
        # which makes the extraction several times faster on large packages.
        for name in _STMT_FIELDS:
            for child in getattr(node, name, ()):
                if isinstance(child, _STMT_NODES):
                    self.visit(child)

    # -- context ------------------------------------------------------------------------------
    @property
    def guard(self) -> str | None:
        # The most telling guard wins: "main" and "type-checking" mean "never at import time".
        for g in ("type-checking", "main", "try", "if"):
            if g in self.guards:
                return g
        return None

    @property
    def scope(self) -> Scope:
        return "function" if self.depth else "module"

    def _watched(self, module: str) -> bool:
        return self.watched is None or module.split(".", 1)[0] in self.watched

    def _body(self, stmts: list[ast.stmt], guard: str | None) -> None:
        if guard:
            self.guards.append(guard)
        for s in stmts:
            self.visit(s)
        if guard:
            self.guards.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        if self.with_calls:
            for d in getattr(node, "decorator_list", []):
                self.visit(d)
        self.depth += 1
        if isinstance(node, ast.Lambda):
            self.visit(node.body)
        else:
            for s in node.body:
                self.visit(s)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_Try(self, node: ast.Try | ast.TryStar) -> None:
        self._body(node.body, "try" if _try_guards_body(node) else None)
        for h in node.handlers:
            self._body(h.body, "try")  # fallbacks run only when the first attempt failed
        self._body(node.orelse, "if" if _try_guards_else(node) else None)
        self._body(node.finalbody, None)

    visit_TryStar = visit_Try

    def visit_If(self, node: ast.If) -> None:
        if self.with_calls:
            self.visit(node.test)
        guard = _if_guard(node.test)
        self._body(node.body, guard)
        else_guard = "if" if guard in ("if",) else None
        self._body(node.orelse, else_guard)

    # -- imports ------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".", 1)[0]
                self.aliases[top] = top
            if self._watched(alias.name):
                self.imports.append(
                    ImportRef(alias.name, None, node.lineno, self.guard, self.scope, node.col_offset)
                )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = resolve_relative(node.module, node.level, self.current, self.is_package)
        if module is None:
            return
        for alias in node.names:
            if alias.name != "*":
                self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
        if not self._watched(module):
            return
        for alias in node.names:
            self.imports.append(
                ImportRef(
                    module,
                    None if alias.name == "*" else alias.name,
                    node.lineno,
                    self.guard,
                    self.scope,
                    node.col_offset,
                )
            )

    # -- calls --------------------------------------------------------------------------------
    def _qualify(self, func: ast.expr) -> str | None:
        dotted = _dotted(func)
        if not dotted:
            return None
        head, _, rest = dotted.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target

    def _is_module_alias(self, node: ast.expr) -> bool:
        dotted = _dotted(node)
        if dotted is None:
            return False
        target = self.aliases.get(dotted.split(".", 1)[0])
        # `import huggingface_hub as hh` maps hh to the module itself (no attribute part)
        return target is not None and target.split(".", 1)[0] == target and dotted == dotted.split(".", 1)[0]

    def visit_Assign(self, node: ast.Assign) -> None:
        # `api = HfApi()` lets `api.upload_folder(...)` resolve to huggingface_hub.HfApi.upload_folder
        if self.with_calls and isinstance(node.value, ast.Call) and len(node.targets) == 1:
            target = node.targets[0]
            qual = self._qualify(node.value.func)
            if isinstance(target, ast.Name) and qual and self._watched(qual):
                self.aliases[target.id] = qual
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        qual = self._qualify(node.func)
        if qual:
            if qual in _SUBPROCESS_FUNCS and node.args:
                program = _program(node.args[0])
                if program:
                    self.calls.append(CallUse("command", program, node.lineno, (), self.guard, self.scope))
            elif self._watched(qual):
                kws = tuple(k.arg for k in node.keywords if k.arg)
                # Calls through a module alias are kept even without keywords: the import
                # check cannot see `hh.cached_download(...)`, the deprecation check can.
                via_module = isinstance(node.func, ast.Attribute) and self._is_module_alias(node.func.value)
                if kws or via_module:
                    self.calls.append(
                        CallUse("call", qual, node.lineno, kws, self.guard, self.scope, via_module)
                    )
        self.generic_visit(node)


_DISPATCH: dict[type[ast.AST], Callable[[_Visitor, Any], Any]] = {}


def _program(arg: ast.expr) -> str | None:
    """The program a subprocess call runs, when it is written literally."""
    if isinstance(arg, (ast.List, ast.Tuple)) and arg.elts:
        first = arg.elts[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value.strip().split("/")[-1] or None
        return None
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        words = arg.value.split()
        return words[0].split("/")[-1] if words else None
    if isinstance(arg, ast.JoinedStr) and arg.values:
        head = arg.values[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str) and head.value.split():
            return head.value.split()[0].split("/")[-1]
    return None


def _parse(source: bytes, path: str) -> tuple[ast.Module | None, SourceProblem | None]:
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        # PEP 263 coding cookies are legal; let the compiler honour them before giving up.
        if b"coding" not in source[:200]:
            return None, SourceProblem(path, f"not UTF-8 (byte {exc.start}); file skipped")
        text = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for invalid escapes in third-party code
            tree = ast.parse(text if text is not None else source, filename=path)
    except SyntaxError as exc:
        return None, SourceProblem(path, f"syntax error: {exc.msg}; file skipped", exc.lineno)
    except (ValueError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
        return None, SourceProblem(path, f"cannot parse: {type(exc).__name__}; file skipped")
    return tree, None


def analyze_source(
    source: bytes,
    path: str,
    *,
    module: str | None = None,
    is_package: bool = False,
    watched: Collection[str] | None = None,
    calls: bool = True,
) -> FileAnalysis:
    """Imports from `watched` top-level modules (all when None) and, if `calls`, provider calls."""
    tree, problem = _parse(source, path)
    result = FileAnalysis(path=path, module=module, problem=problem)
    if tree is None:
        return result
    v = _Visitor(module, is_package, watched, calls)
    try:
        v.visit(tree)
    except RecursionError:
        result.problem = SourceProblem(path, "nesting too deep to analyse; file skipped")
        return result
    result.imports = v.imports
    result.calls = v.calls
    return result


def extract_imports(
    source: bytes,
    path: str,
    *,
    module: str | None = None,
    is_package: bool = False,
    watched: Collection[str] | None = None,
    problems: list[SourceProblem] | None = None,
) -> list[ImportRef]:
    """Every import in `source` (relative ones made absolute when `module` is known).

    Never raises for bad input: a syntax error or undecodable file yields no references and,
    when `problems` is given, one SourceProblem appended to it.
    """
    res = analyze_source(source, path, module=module, is_package=is_package, watched=watched, calls=False)
    if res.problem is not None and problems is not None:
        problems.append(res.problem)
    return res.imports
