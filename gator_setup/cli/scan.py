"""`gator scan`: import compatibility and deprecated hub APIs in source trees and wheels."""

from __future__ import annotations

from typing import Annotated

import typer

from gator_setup.cli.common import (
    FormatOpt,
    JsonOpt,
    OutputFormat,
    StrictOpt,
    VerboseOpt,
    emit_report,
    guarded,
)
from gator_setup.cli.output import engine_workers

SCAN_EPILOG = """Examples:

  gator scan src/                          against the providers installed here

  gator scan src/ --hub-version 1.0.0      would this code work with huggingface_hub 1.0.0?

  gator scan dist/mypkg-1.0-py3-none-any.whl --format github

  pre-commit: add the `gator-scan` hook from this repository
"""


@guarded
def scan(
    paths: Annotated[list[str], typer.Argument(help="Folders, .py files or .whl files to scan.")],
    hub_version: Annotated[
        str | None,
        typer.Option("--hub-version", help="Check against this huggingface_hub version (downloaded once)."),
    ] = None,
    python: Annotated[
        str | None, typer.Option("--python", help="Resolve against the providers of this interpreter/venv.")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Glob of files not to scan (repeatable).")
    ] = None,
    fmt: FormatOpt = OutputFormat.text,
    json_: JsonOpt = False,
    strict: StrictOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Find imports of names the providers do not export, and removed huggingface_hub APIs."""
    from gator_setup.core.scan import ScanOptions, run_scan

    opts = ScanOptions(
        paths=tuple(paths),
        hub_version=hub_version,
        python=python,
        exclude=tuple(exclude or ()),
        workers=engine_workers(),
    )
    report = run_scan(opts)
    raise typer.Exit(emit_report(report, fmt, json_=json_, verbose=verbose, strict=strict))
