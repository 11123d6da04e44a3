"""`gator doctor` and `gator checks`."""

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
    split_codes,
)

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
        Path, typer.Option("--project", help="Project folder (settings, source scan).")
    ] = Path("."),
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
    from gator_setup.core.doctor import DoctorOptions, run_doctor

    if what_if:
        from gator_setup.core.whatif import WhatIfOptions, run_what_if

        wi_report = run_what_if(
            WhatIfOptions(changes=tuple(what_if), python=python, project_dir=str(project))
        )
        strict = strict or load_settings(project).strict
        raise typer.Exit(emit_report(wi_report, fmt, json_=json_, verbose=verbose, strict=strict))

    opts = DoctorOptions(
        python=python,
        project_dir=str(project),
        profile=profile,
        only=split_codes(only),
        skip=split_codes(skip),
        deep=deep,
        sysroot=sysroot,
        save_bundle=save_bundle,
        from_output=tuple(from_output or ()),
    )
    report = run_doctor(opts)
    strict = strict or load_settings(project).strict
    raise typer.Exit(emit_report(report, fmt, json_=json_, verbose=verbose, strict=strict))


@guarded
def checks(
    json_: JsonOpt = False,
) -> None:
    """List every check gator knows (built-in and plugins) with its code and category."""
    import json
    import sys

    from gator_setup.checks.registry import all_checks

    classes, failures = all_checks()
    rows = [
        {"code": c.code, "title": c.title, "category": c.category, "default": c.default_enabled}
        for c in sorted(classes, key=lambda c: c.code)
    ]
    if json_:
        sys.stdout.write(json.dumps({"checks": rows}, indent=2) + "\n")
    else:
        for r in rows:
            flag = "" if r["default"] else "  (opt-in)"
            sys.stdout.write(f"{r['code']}  {r['category']:<13} {r['title']}{flag}\n")
        for f in failures:
            sys.stdout.write(f"GTR000  plugin {f.name} failed to load: {f.error}\n")
