"""Which files a package runs at import time, and which are auxiliary (tests, examples, scripts).

The rule (documented in docs/imports.md):
- a file is *auxiliary* when a folder on its path is tests/test/testing/examples/example/scripts/
  benchmarks/benchmark/docs/doc/tools, or it is `__main__.py`, `conftest.py`, `setup.py`,
  `test_*.py` / `*_test.py`: the package never imports it at run time;
- every other module under the package is *runtime*: importing it runs its module-level imports;
- a runtime module is *import-time* when `import <package>` itself executes it: it is reachable
  from the package's `__init__` through module-level, unguarded imports (parents' `__init__` run too).
"""

from __future__ import annotations

from collections.abc import Callable

from gator_setup.analysis.extract import analyze_source

AUX_DIRS = frozenset(
    {
        "tests",
        "test",
        "testing",
        "examples",
        "example",
        "scripts",
        "benchmarks",
        "benchmark",
        "docs",
        "doc",
        "tools",
    }
)
AUX_FILES = frozenset({"__main__.py", "conftest.py", "setup.py", "noxfile.py"})


def file_role(rel_path: str) -> str:
    """ "auxiliary" for tests/examples/scripts/`__main__`, else "runtime"."""
    # (str.split, not PurePosixPath: what-if asks it of every file of a package; the folders that
    # PurePosixPath would drop, "" and ".", are no auxiliary folder anyway)
    *folders, name = rel_path.replace("\\", "/").split("/")
    if any(part.lower() in AUX_DIRS for part in folders):
        return "auxiliary"
    if name in AUX_FILES or name.startswith("test_") or name.endswith("_test.py"):
        return "auxiliary"
    return "runtime"


def import_time_modules(package: str, read: Callable[[str], tuple[bytes, bool] | None]) -> set[str]:
    """Modules that `import <package>` executes, following module-level unguarded imports.

    `read(module)` returns (source bytes, is_package) for a module of the package, or None when
    it is not a source module of this package.
    """
    seen: set[str] = set()
    todo = [package]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        got = read(mod)
        if got is None:
            continue
        seen.add(mod)
        source, is_pkg = got
        # importing a.b.c runs a/__init__ and a/b/__init__ first
        parts = mod.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        res = analyze_source(source, mod, module=mod, is_package=is_pkg, watched={package}, calls=False)
        for ref in res.imports:
            if ref.guard is not None or ref.scope != "module":
                continue
            todo.append(ref.module)
            if ref.name and ref.name != "*":
                todo.append(f"{ref.module}.{ref.name}")  # `from . import sub` may name a submodule
    return seen
