"""`gator doctor` and `gator checks`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gator_setup.cli.common import (
    FormatOpt,
    JsonOpt,
    JsonOutputOpt,
    OutputFormat,
    StrictOpt,
    VerboseOpt,
    emit_report,
    guarded,
    split_codes,
)
from gator_setup.cli.output import engine_workers

DOCTOR_EPILOG = """Examples:

  gator doctor                         check the current environment

  gator doctor --python .venv          check another venv (gator need not be installed there)

  gator doctor --json > report.json    machine-readable report

  gator doctor --only GTR101 --strict  one check, failing on warnings too

  gator doctor --what-if "huggingface_hub==0.26.0"   what an upgrade would break (installs nothing)

  gator doctor --profile gator-rocm5.7 check against the Gator ROCm 5.7 stack

  gator doctor --deep                  also import torch (arch list, devices, tensor op)

  gator doctor --save-bundle gpu.tar.gz   store the raw GPU probe inputs (secrets redacted)

  gator doctor --sysroot gpu.tar.gz    replay a bundle (or a hand-made tree) instead of this machine

  gator doctor --from-output rocminfo.txt   diagnose pasted tool output (rocminfo, nvidia-smi...)
"""


@guarded
def doctor(
    python: Annotated[
        str | None, typer.Option("--python", help="Interpreter or venv folder to inspect.")
    ] = None,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            help="Project folder (settings, source scan); default: the nearest folder at or above this "
            "one with pyproject.toml, setup.py, setup.cfg, requirements*.txt or .git.",
        ),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only these check codes (A,B).")
    ] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip", help="Skip these check codes (A,B).")] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="Also check against a profile (constraints/NAME.txt).")
    ] = None,
    deep: Annotated[
        bool,
        typer.Option("--deep", help="Import torch in the target interpreter (arch list, devices)."),
    ] = False,
    sysroot: Annotated[
        str | None, typer.Option("--sysroot", help="Replay a support bundle or tree instead of this machine.")
    ] = None,
    save_bundle: Annotated[
        str | None, typer.Option("--save-bundle", help="Write the raw GPU probe inputs to FILE.tar.gz.")
    ] = None,
    from_output: Annotated[
        list[str] | None,
        typer.Option(
            "--from-output",
            help="Diagnose pasted output of rocminfo, rocm-smi, amd-smi, nvidia-smi or collect_env "
            "(a file, or - for stdin; repeatable) instead of this machine.",
        ),
    ] = None,
    fmt: FormatOpt = OutputFormat.text,
    json_: JsonOpt = False,
    strict: StrictOpt = False,
    verbose: VerboseOpt = False,
    what_if: Annotated[
        list[str] | None,
        typer.Option(
            "--what-if",
            help="Report what installing these requirements would break, without installing (repeatable).",
        ),
    ] = None,
) -> None:
    """Check an environment for broken imports, conflicts, known-bad combinations and GPU mismatches."""
    from gator_setup.core.config import load_settings
    from gator_setup.core.doctor import DoctorOptions, run_doctor, select_results
    from gator_setup.core.project import resolve_project

    project_dir, project_note = resolve_project(project)
    if what_if:
        from gator_setup.core.whatif import WhatIfOptions, run_what_if

        settings = load_settings(project_dir)
        wi_report = select_results(
            run_what_if(WhatIfOptions(changes=tuple(what_if), python=python, project_dir=project_dir)),
            split_codes(only),
            split_codes(skip),
            settings.ignore,
        )
        strict = strict or settings.strict
        raise typer.Exit(emit_report(wi_report, fmt, json_=json_, verbose=verbose, strict=strict))

    opts = DoctorOptions(
        python=python,
        project_dir=project_dir,
        profile=profile,
        only=split_codes(only),
        skip=split_codes(skip),
        deep=deep,
        sysroot=sysroot,
        save_bundle=save_bundle,
        from_output=tuple(from_output or ()),
        workers=engine_workers(),
    )
    report = run_doctor(opts)
    if project_note:
        report.notes.append(project_note)
    strict = strict or load_settings(project_dir).strict
    raise typer.Exit(emit_report(report, fmt, json_=json_, verbose=verbose, strict=strict))


@guarded
def checks(
    json_: JsonOutputOpt = False,
) -> None:
    """List every finding code gator knows (checks, plugins, what-if and check-pins rules)."""
    import json
    import sys

    from gator_setup.checks.registry import all_rules

    rules, failures = all_rules()
    if json_:
        rows = [
            {
                "code": r.code,
                "title": r.title,
                "category": r.category,
                "default": r.default_enabled,
                "reported_by": r.reported_by,
            }
            for r in rules
        ]
        sys.stdout.write(json.dumps({"checks": rows}, indent=2) + "\n")
        return
    for r in rules:
        flag = "" if r.default_enabled else "  (opt-in)"
        by = (
            ""
            if r.reported_by.startswith("gator doctor") and "--" not in r.reported_by
            else f"  [{r.reported_by}]"
        )
        sys.stdout.write(f"{r.code}  {r.category:<13} {r.title}{flag}{by}\n")
    for f in failures:
        sys.stdout.write(f"GTR000  plugin {f.name} failed to load: {f.error}\n")


EXPLAIN_EPILOG = """Examples:

  gator explain GTR101      what a broken provider import means and how to fix it

  gator explain GTR111      a code reported by `gator doctor --what-if`
"""


@guarded
def explain(
    code: Annotated[str, typer.Argument(help="A finding code, e.g. GTR101 (`gator checks` lists them).")],
    json_: JsonOutputOpt = False,
) -> None:
    """Explain a finding code: what it means, why it matters, how to fix it."""
    import json
    import sys

    from gator_setup.checks.registry import all_checks, all_rules, explain
    from gator_setup.errors import UnknownNameError

    rules, _failures = all_rules()
    wanted = code.strip().upper()
    rule = next((r for r in rules if r.code == wanted), None)
    text = explain(wanted, all_checks()[0]) if rule is not None else None
    if rule is None or text is None:
        raise UnknownNameError("check code", code, [r.code for r in rules], hint="`gator checks` lists them.")
    if json_:
        row = {
            "code": rule.code,
            "title": rule.title,
            "category": rule.category,
            "reported_by": rule.reported_by,
        }
        sys.stdout.write(json.dumps({**row, "default": rule.default_enabled, **text}, indent=2) + "\n")
        return
    out = [f"{rule.code}: {rule.title}", f"category: {rule.category} · reported by: {rule.reported_by}", ""]
    for key, heading in (("meaning", "What it means"), ("why", "Why it matters"), ("fix", "How to fix it")):
        if key in text:
            out += [heading, *_wrap(text[key]), ""]
    sys.stdout.write("\n".join(out))


def _wrap(text: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=96, initial_indent="  ", subsequent_indent="  ")
