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
    guarded,
)
from gator_setup.cli.optspec import DOCTOR, by_key

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


D = by_key(DOCTOR)


@guarded
def doctor(
    python: Annotated[str | None, D["python"].typer()] = D["python"].default,
    project: Annotated[Path | None, D["project"].typer()] = D["project"].default,
    only: Annotated[list[str] | None, D["only"].typer()] = D["only"].default,
    skip: Annotated[list[str] | None, D["skip"].typer()] = D["skip"].default,
    profile: Annotated[str | None, D["profile"].typer()] = D["profile"].default,
    deep: Annotated[bool, D["deep"].typer()] = D["deep"].default,
    sysroot: Annotated[str | None, D["sysroot"].typer()] = D["sysroot"].default,
    save_bundle: Annotated[str | None, D["save_bundle"].typer()] = D["save_bundle"].default,
    from_output: Annotated[list[str] | None, D["from_output"].typer()] = D["from_output"].default,
    fmt: FormatOpt = OutputFormat(D["fmt"].default),
    json_: JsonOpt = D["json_"].default,
    strict: StrictOpt = D["strict"].default,
    verbose: VerboseOpt = D["verbose"].default,
    what_if: Annotated[list[str] | None, D["what_if"].typer()] = D["what_if"].default,
) -> None:
    """Check an environment for broken imports, conflicts, known-bad combinations and GPU mismatches."""
    values = dict(locals())  # the options, named as in cli/optspec.py
    from gator_setup.cli.fastdoctor import doctor_command

    raise typer.Exit(doctor_command(values))


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
