"""`gator check-pins`: fail CI when declared ranges admit a known-bad combination."""

from __future__ import annotations

from pathlib import Path
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

CHECK_PINS_EPILOG = """Examples:

  gator check-pins                              discover pyproject/requirements/lock files here

  gator check-pins requirements.txt uv.lock     check these files together

  gator check-pins --format github              GitHub annotations on the offending lines

  gator check-pins --profile gator-rocm5.7      also check against constraints/gator-rocm5.7.txt

Exit codes: 0 no rule admitted, 1 a rule admitted, 2 unreadable input.
"""


@guarded
def check_pins(
    files: Annotated[
        list[Path] | None, typer.Argument(help="pyproject.toml, requirements*.txt, constraints, lock files.")
    ] = None,
    project: Annotated[Path, typer.Option("--project", help="Folder to discover files in.")] = Path("."),
    profile: Annotated[
        str | None, typer.Option("--profile", help="Also check against constraints/NAME.txt.")
    ] = None,
    resolve: Annotated[
        bool,
        typer.Option(
            "--resolve/--no-resolve",
            help="Resolve the files (uv) and analyse the resolved wheels; --no-resolve: knowledge base only.",
        ),
    ] = True,
    python_version: Annotated[
        str, typer.Option("--python-version", help="Python version to resolve the files for.")
    ] = "3.11",
    fmt: FormatOpt = OutputFormat.text,
    json_: JsonOpt = False,
    strict: StrictOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Check declared version ranges against gator's knowledge base of known-bad combinations."""
    from gator_setup.core.check_pins import CheckPinsOptions, run_check_pins

    opts = CheckPinsOptions(
        files=tuple(str(f) for f in files or ()),
        project_dir=str(project),
        profile=profile,
        resolve=resolve,
        python=python_version,
    )
    report = run_check_pins(opts)
    raise typer.Exit(emit_report(report, fmt, json_=json_, verbose=verbose, strict=strict))
