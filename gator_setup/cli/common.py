"""Shared CLI pieces: option aliases, one-line error handling, report output and exit codes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

# (OutputFormat, error_line, emit_report and split_codes live in cli/output.py, which imports no
# Typer, so that the fast `gator scan` / `gator doctor` paths can use them; re-exported here.)
from gator_setup.cli.optspec import OUTPUT, by_key
from gator_setup.cli.output import OutputFormat, emit_report, error_line, exit_code_for, split_codes

__all__ = [
    "FormatOpt",
    "JsonOpt",
    "JsonOutputOpt",
    "OutputFormat",
    "StrictOpt",
    "VerboseOpt",
    "emit_report",
    "error_line",
    "guarded",
    "split_codes",
]

F = TypeVar("F", bound=Callable[..., Any])


_OUT = by_key(OUTPUT)  # (the output options' rows, shared with the fast paths: cli/optspec.py)
FormatOpt = Annotated[OutputFormat, _OUT["fmt"].typer()]
JsonOpt = Annotated[bool, _OUT["json_"].typer()]
#: --json on a command that has no --format (its only other output is text).
JsonOutputOpt = Annotated[bool, typer.Option("--json", help="JSON output on stdout.")]
StrictOpt = Annotated[bool, _OUT["strict"].typer()]
VerboseOpt = Annotated[bool, _OUT["verbose"].typer()]


def guarded(func: F) -> F:
    """Turn GatorError (and, outside GATOR_DEBUG, any crash) into one line on stderr and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            raise typer.Exit(exit_code_for(exc)) from None

    return wrapper  # type: ignore[return-value]
