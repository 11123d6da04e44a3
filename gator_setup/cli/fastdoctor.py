"""`gator doctor` without Typer: the plain option forms parsed by hand, for a fast start, and the
command's body that the Typer command runs too.

Importing Typer and Click is a good part of a warm doctor run (docs/imports.md). Only the plain
forms are handled here (`--opt value`, `--opt=value`, flags); `--help`, `--what-if`, an unknown or
malformed option, a bad --format value or any positional argument returns None and the Typer
command runs, so help, usage errors and what-if read exactly as before. The options, their
spellings and defaults come from cli/optspec.py (the Typer command reads the same rows), and both
paths run `doctor_command`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gator_setup.cli.optspec import DOCTOR, FORMATS, plain_spec
from gator_setup.cli.plainargs import parse_plain

_SPEC = plain_spec(DOCTOR)


def parse_doctor_args(args: Sequence[str]) -> dict[str, Any] | None:
    """The `doctor` command's arguments as Typer would bind them, or None for anything unusual
    (a positional, `--help`, `--what-if`, an unknown option...: Typer's business)."""
    opts = parse_plain(args, _SPEC)
    if opts is None or opts["fmt"] not in FORMATS:
        return None
    return opts


def fast_doctor(args: Sequence[str]) -> int | None:
    """Run `gator doctor ARGS` and return its exit code; None when the Typer app must handle it.
    Errors propagate to the caller's boundary (cli/entry.py)."""
    opts = parse_doctor_args(args)
    if opts is None:
        return None
    return doctor_command(opts)


def doctor_command(v: Mapping[str, Any]) -> int:
    """`gator doctor` with its options' values (as the Typer command or the fast parser binds
    them): run the doctor or the what-if, render, return the exit code."""
    if v["python"]:
        from gator_setup.probes.python_env import start_query

        start_query(v["python"])  # the other interpreter starts while gator imports the rest
    from pathlib import Path

    from gator_setup.cli.output import OutputFormat, emit_report, engine_workers, split_codes
    from gator_setup.core.config import load_settings
    from gator_setup.core.doctor import DoctorOptions, run_doctor, select_results
    from gator_setup.core.project import resolve_project

    # --project as given, else the nearest project at or above the working directory (or none)
    project, project_note = resolve_project(Path(v["project"]) if v["project"] else None)
    only, skip = split_codes(v["only"] or None), split_codes(v["skip"] or None)
    settings = load_settings(project)
    if v.get("what_if"):
        from gator_setup.core.whatif import WhatIfOptions, run_what_if

        wi = WhatIfOptions(changes=tuple(v["what_if"]), python=v["python"], project_dir=project)
        report = select_results(run_what_if(wi), only, skip, settings.ignore)
    else:
        report = run_doctor(
            DoctorOptions(
                python=v["python"],
                project_dir=project,
                profile=v["profile"],
                only=only,
                skip=skip,
                deep=v["deep"],
                sysroot=v["sysroot"],
                save_bundle=v["save_bundle"],
                from_output=tuple(v["from_output"] or ()),
                workers=engine_workers(),
            )
        )
    if project_note:
        report.notes.append(project_note)
    strict = v["strict"] or settings.strict
    fmt = OutputFormat(v["fmt"])
    return emit_report(report, fmt, json_=v["json_"], verbose=v["verbose"], strict=strict)
