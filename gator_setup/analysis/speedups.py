"""The optional C versions of a cold scan's byte loops and per-file system calls (`_speedups.c`).

A cold `gator scan` of a site-packages spent much of its CPU in loops that Python runs one step
at a time: the line test of the import-candidate pass (about 55,000 `import` keywords, most on
lines that name no watched module), the UTF-8 check of non-ASCII files, the deletion of strings
and comments from provider modules (quickbind), and, per file, reading it and walking new
distributions' folders. Their C versions give exactly what the pure-Python originals give
(tests/analysis/test_speedups.py compares them on generated and on real input); the callers use
them when the extension was built (`pip install` builds it where a C compiler is found, and goes
on without it where none is) and fall back to the originals otherwise. `PURE_PYTHON` switches
them off, as it does the native pre-filter (analysis/needles.py): the engine never reads the
environment; the CLI sets it for `GATOR_PURE_PYTHON=1` (cli/output.py `engine_workers`)."""

from __future__ import annotations

from types import ModuleType

#: The byte operations of this process: True selects the pure-Python ones (same answers).
PURE_PYTHON = False


def native() -> ModuleType | None:
    """The compiled helpers, or None when they were not built or are switched off."""
    if PURE_PYTHON:
        return None
    try:
        from gator_setup.analysis import _speedups
    except ImportError:
        return None
    return _speedups
