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
    guarded,
)
from gator_setup.cli.optspec import SCAN, by_key

SCAN_EPILOG = """Examples:

  gator scan src/                          against the providers installed here

  gator scan src/ --hub-version 1.0.0      would this code work with huggingface_hub 1.0.0?

  gator scan dist/mypkg-1.0-py3-none-any.whl --format github

  pre-commit: add the `gator-scan` hook from this repository
"""


S = by_key(SCAN)


@guarded
def scan(
    paths: Annotated[list[str], typer.Argument(help="Folders, .py files or .whl files to scan.")],
    hub_version: Annotated[str | None, S["hub_version"].typer()] = S["hub_version"].default,
    python: Annotated[str | None, S["python"].typer()] = S["python"].default,
    exclude: Annotated[list[str] | None, S["exclude"].typer()] = S["exclude"].default,
    fmt: FormatOpt = OutputFormat(S["fmt"].default),
    json_: JsonOpt = S["json_"].default,
    strict: StrictOpt = S["strict"].default,
    verbose: VerboseOpt = S["verbose"].default,
) -> None:
    """Find imports of names the providers do not export, and removed huggingface_hub APIs."""
    values = dict(locals())  # the options, named as in cli/optspec.py
    from gator_setup.cli.fastscan import scan_command

    raise typer.Exit(scan_command(values))
