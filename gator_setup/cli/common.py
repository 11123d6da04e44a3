"""Shared CLI pieces: option aliases, one-line error handling, report output and exit codes."""

from __future__ import annotations

import enum
import functools
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from gator_setup.errors import GatorError

F = TypeVar("F", bound=Callable[..., Any])


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Also fail (exit 1) on warnings.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show evidence for each finding.")]


def error_line(message: str) -> None:
    """Print a one-line error on stderr."""
    print(f"gator: error: {message}", file=sys.stderr)


def guarded(func: F) -> F:
    """Turn GatorError (and, outside GATOR_DEBUG, any crash) into one line on stderr and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except GatorError as exc:
            if os.environ.get("GATOR_DEBUG"):
                raise
            error_line(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            error_line("interrupted; nothing complete was lost, run the same command again to resume.")
            raise typer.Exit(130) from None
        except Exception as exc:
            if os.environ.get("GATOR_DEBUG"):
                raise
            error_line(
                f"internal error: {type(exc).__name__}: {exc} (set GATOR_DEBUG=1 for the traceback; "
                "this is a gator bug)"
            )
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def split_codes(values: list[str] | None) -> tuple[str, ...]:
    """`--only A,B --only C` -> ("A", "B", "C")."""
    out: list[str] = []
    for v in values or []:
        out.extend(p.strip().upper() for p in v.split(",") if p.strip())
    return tuple(out)


def emit_report(report: Any, fmt: OutputFormat, *, verbose: bool = False, strict: bool = False) -> int:
    """Write the report to stdout in `fmt` and return the exit code (same for every format)."""
    from gator_setup.checks.base import Severity

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
