"""Report output and one-line errors for every command, without importing Typer."""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


def engine_workers() -> int | None:
    """The analysis engine's variants as the environment selects them, for the commands that run
    it: `GATOR_PURE_PYTHON=1` selects the pure-Python byte operations for this process,
    `GATOR_NO_PARALLEL=1` one process (the returned `workers`; None: one per CPU). The engine
    itself reads no environment variable."""
    import os

    if os.environ.get("GATOR_PURE_PYTHON"):
        from gator_setup.analysis import speedups

        speedups.PURE_PYTHON = True
    return 1 if os.environ.get("GATOR_NO_PARALLEL") else None


def error_line(message: str) -> None:
    """Print a one-line error on stderr."""
    print(f"gator: error: {message}", file=sys.stderr)


def emit_report(
    report: Any, fmt: OutputFormat, *, json_: bool = False, verbose: bool = False, strict: bool = False
) -> int:
    """Write the report to stdout in `fmt` (JSON when `json_`, the --json shorthand) and return the
    exit code (same for every format)."""
    from gator_setup.findings import Severity

    if json_:
        fmt = OutputFormat.json
    if fmt is OutputFormat.json:
        from gator_setup.report.json_format import render_json

        sys.stdout.write(render_json(report) + "\n")
    elif fmt is OutputFormat.github:
        from gator_setup.report.github import render_github

        sys.stdout.write(render_github(report) + "\n")
    elif fmt is OutputFormat.sarif:
        from gator_setup.report.sarif import render_sarif

        sys.stdout.write(render_sarif(report) + "\n")
    else:
        from gator_setup.report.text import render_text

        render_text(report, verbose=verbose, out=sys.stdout)
    code: int = report.exit_code(Severity.WARNING if strict else Severity.ERROR)
    return code


def split_codes(values: list[str] | None) -> tuple[str, ...]:
    """`--only A,B --only C` -> ("A", "B", "C")."""
    out: list[str] = []
    for v in values or []:
        out.extend(p.strip().upper() for p in v.split(",") if p.strip())
    return tuple(out)


def run_guarded(run: Callable[..., R], *args: Any) -> R | int:
    """`run(*args)`, or the exit code `exit_code_for` maps its exception to (one line on stderr):
    the error boundary of the fast paths; Typer commands get the same through `cli.common.guarded`."""
    try:
        return run(*args)
    except (Exception, KeyboardInterrupt) as exc:
        return exit_code_for(exc)


def exit_code_for(exc: BaseException) -> int:
    """One line on stderr for a failed command, and its exit code; re-raises under GATOR_DEBUG.

    GatorError: its own message and code. Ctrl-C: 130. Anything else is a gator bug: exit 2 with the
    exception in one line (the traceback with GATOR_DEBUG=1), never a traceback by default.
    """
    import os

    from gator_setup.errors import GatorError

    if isinstance(exc, KeyboardInterrupt):
        error_line("interrupted; nothing complete was lost, run the same command again to resume.")
        return 130
    if os.environ.get("GATOR_DEBUG"):
        raise exc
    if isinstance(exc, GatorError):
        error_line(str(exc))
        return exc.exit_code
    error_line(
        f"internal error: {type(exc).__name__}: {exc} (set GATOR_DEBUG=1 for the traceback; "
        "this is a gator bug)"
    )
    return 2
