"""`gator fix --profile NAME [--apply]`: print (and with --apply run) the commands a profile needs."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gator_setup.cli.common import guarded

FIX_EPILOG = """Examples:

  gator fix --profile gator-rocm5.7            print the commands, change nothing

  gator fix --profile gator-rocm5.7 --apply    run them with this environment's pip

  gator fix --profile cpu --python .venv       plan for another venv
"""


@guarded
def fix(
    profile: Annotated[str, typer.Option("--profile", help="Profile to bring the environment in line with.")],
    python: Annotated[str | None, typer.Option("--python", help="Interpreter or venv folder to fix.")] = None,
    sysroot: Annotated[
        str | None, typer.Option("--sysroot", help="Plan from a support bundle or tree (print only).")
    ] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Run the pip commands (else print only).")] = False,
) -> None:
    """Print the exact commands that make an environment match a profile; run them with --apply."""
    from gator_setup.core.fix import FixOptions, apply_plan, plan_fix

    plan = plan_fix(FixOptions(profile=profile, python=python, sysroot=sysroot, apply=apply))
    if not plan.steps:
        sys.stdout.write(f"Environment already matches profile {plan.profile.name}; nothing to do.\n")
        raise typer.Exit(0)
    for step in plan.steps:
        sys.stdout.write(f"# {step.reason}\n")
        sys.stdout.write(("# run yourself: " if step.manual else "") + step.display + "\n")
    if not apply:
        print("Nothing was changed; run again with --apply to run the pip commands.", file=sys.stderr)
        raise typer.Exit(0)
    done = apply_plan(plan)
    again = f"gator doctor --profile {plan.profile.name}" + (f" --python {python}" if python else "")
    print(f"Ran {done} command(s); check with: {again}", file=sys.stderr)
