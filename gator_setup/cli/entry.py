"""The `gator` console script: `gator scan` and `gator doctor` take Typer-free fast paths (for their
plain option forms), all else the Typer app."""

from __future__ import annotations

import contextlib
import gc
import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code.

    Run as the process itself (`argv` None), a fast path ends the process as soon as its output
    is flushed (see _leave).
    """
    args = sys.argv[1:] if argv is None else list(argv)
    code: int | None = None
    if args[:1] in (["scan"], ["doctor"]):
        from gator_setup.cli.output import run_guarded

        # A fast path run as the process ends in _leave: the cyclic collector would only walk the
        # objects of its start-up again and again (docs/imports.md has the figure).
        if argv is None:
            gc.disable()
        code = run_guarded(_fast, args)
        gc.enable()
    if code is not None:
        return _leave(code) if argv is None else code
    from gator_setup.cli.app import main as app_main

    return app_main(argv)


def _fast(args: list[str]) -> int | None:
    """The fast path of `scan` / `doctor` (None: the Typer app handles these arguments)."""
    if args[0] == "scan":
        from gator_setup.cli.fastscan import fast_scan

        return fast_scan(args[1:])
    from gator_setup.cli.fastdoctor import fast_doctor

    return fast_doctor(args[1:])


def _leave(code: int) -> int:
    """End the process now, its output flushed, without tearing down the interpreter.

    A cold scan of a site-packages leaves some hundred thousand objects (paths, the index it
    wrote, the verdicts), and freeing them one by one at exit is measurable (docs/imports.md). A
    fast path has nothing left to do at exit: it starts no thread that outlives it, its files are
    closed and its child processes reaped.
    """
    for stream in (sys.stdout, sys.stderr):
        # (a closed pipe, `gator scan ... | head`: nothing more can be said)
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
