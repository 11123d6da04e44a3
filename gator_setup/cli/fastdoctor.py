"""`gator doctor` without Typer: the common option forms parsed by hand, for a fast start.

The doctor's target is "no slower than `hf env`, under 15% of torch's collect_env", and importing
Typer and Click was about 0.05 s of a warm 0.3 s run. As for `gator scan` (fastscan.py), only the
plain forms are handled here (`--opt value`, `--opt=value`, flags); `--help`, `--what-if`, an unknown
or malformed option, a bad --format value or any positional argument returns None and the Typer
command runs, so help, usage errors and what-if read exactly as before. What runs is the same:
DoctorOptions -> run_doctor -> emit_report, with the error handling of `cli.common.guarded`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gator_setup.cli.fastscan import run_guarded
from gator_setup.cli.output import OutputFormat
from gator_setup.cli.plainargs import PlainSpec, parse_plain

_FORMATS = {f.value for f in OutputFormat}
_SPEC = PlainSpec(
    defaults={
        "python": None,
        "project": None,
        "only": [],
        "skip": [],
        "profile": None,
        "sysroot": None,
        "save_bundle": None,
        "fmt": OutputFormat.text.value,
        "json_": False,
        "strict": False,
        "verbose": False,
        "deep": False,
    },
    valued={
        "--python": "python",
        "--project": "project",
        "--only": "only",
        "--skip": "skip",
        "--profile": "profile",
        "--sysroot": "sysroot",
        "--save-bundle": "save_bundle",
        "--format": "fmt",
    },
    flags={
        "--json": "json_",
        "--strict": "strict",
        "--verbose": "verbose",
        "-v": "verbose",
        "--deep": "deep",
    },
    short_valued={"-f": "fmt"},
    lists=frozenset({"only", "skip"}),
)


def parse_doctor_args(args: Sequence[str]) -> dict[str, Any] | None:
    """The `doctor` command's arguments as Typer would bind them, or None for anything unusual
    (a positional, `--help`, `--what-if`, an unknown option...: Typer's business)."""
    opts = parse_plain(args, _SPEC)
    if opts is None or opts["fmt"] not in _FORMATS:
        return None
    return opts


def fast_doctor(args: Sequence[str]) -> int | None:
    """Run `gator doctor ARGS` and return its exit code; None when the Typer app must handle it."""
    opts = parse_doctor_args(args)
    if opts is None:
        return None
    return run_guarded(_run, opts)


def _run(opts: dict[str, Any]) -> int:
    if opts["python"]:
        from gator_setup.probes.python_env import start_query

        start_query(opts["python"])  # the other interpreter starts while gator imports the rest
    from pathlib import Path

    from gator_setup.cli.output import emit_report, engine_workers, split_codes
    from gator_setup.core.config import load_settings
    from gator_setup.core.doctor import DoctorOptions, run_doctor
    from gator_setup.core.project import resolve_project

    # (Path(...) as Typer's Path option gives it)
    project_dir, project_note = resolve_project(Path(opts["project"]) if opts["project"] else None)
    report = run_doctor(
        DoctorOptions(
            python=opts["python"],
            project_dir=project_dir,
            profile=opts["profile"],
            only=split_codes(opts["only"] or None),
            skip=split_codes(opts["skip"] or None),
            deep=opts["deep"],
            sysroot=opts["sysroot"],
            save_bundle=opts["save_bundle"],
            workers=engine_workers(),
        )
    )
    if project_note:
        report.notes.append(project_note)
    strict = opts["strict"] or load_settings(project_dir).strict
    fmt = OutputFormat(opts["fmt"])
    return emit_report(report, fmt, json_=opts["json_"], verbose=opts["verbose"], strict=strict)
