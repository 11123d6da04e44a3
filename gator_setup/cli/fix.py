"""`gator fix --profile NAME [--apply]`: print (and with --apply run) the commands a profile needs."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from gator_setup.cli.common import guarded

if TYPE_CHECKING:
    from gator_setup.core.fix import FixPlan
    from gator_setup.findings import Finding

FIX_EPILOG = """Examples:

  gator fix                                    the verified fix of every error the doctor finds

  gator fix --apply --python .venv             run them in that venv (its pip, else uv pip)

  gator fix --json                             the plan as JSON

  gator fix --profile gator-rocm5.7            print the commands a profile needs, change nothing

  gator fix --profile gator-rocm5.7 --apply    run them with this environment's pip
"""


@guarded
def fix(
    profile: Annotated[
        str | None, typer.Option("--profile", help="Profile to bring the environment in line with.")
    ] = None,
    python: Annotated[str | None, typer.Option("--python", help="Interpreter or venv folder to fix.")] = None,
    sysroot: Annotated[
        str | None, typer.Option("--sysroot", help="Plan from a support bundle or tree (print only).")
    ] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Run the pip commands (else print only).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Print the verified commands that fix the environment (or match a profile); run them with --apply."""
    from gator_setup.core.fix import FixOptions, apply_plan, plan_env_fix, plan_fix

    opts = FixOptions(profile=profile, python=python, sysroot=sysroot, apply=apply)
    unfixed: list[Finding] = []
    if profile is None:
        if sysroot:
            from gator_setup.errors import UsageError

            raise UsageError("--sysroot plans a profile's fix; add --profile NAME.")
        plan, unfixed = plan_env_fix(opts)
    else:
        plan = plan_fix(opts)
    if as_json:
        _print_json(plan, unfixed)
    elif not plan.steps and not unfixed:
        what = f"matches profile {plan.profile.name}" if plan.profile else "has no error to fix"
        sys.stdout.write(f"Environment already {what}; nothing to do.\n")
        raise typer.Exit(0)
    else:
        for step in plan.steps:
            sys.stdout.write(f"# {step.reason}\n")
            sys.stdout.write(("# run yourself: " if step.manual else "") + step.display + "\n")
        for f in unfixed:
            sys.stdout.write(f"# no verified fix: {f.message}\n# {f.fix or 'no fix known'}\n")
    if not apply:
        if not as_json and plan.steps:
            print("Nothing was changed; run again with --apply to run the pip commands.", file=sys.stderr)
        raise typer.Exit(1 if unfixed else 0)
    done = apply_plan(plan)
    prof = f" --profile {plan.profile.name}" if plan.profile else ""
    again = f"gator doctor{prof}" + (f" --python {python}" if python else "")
    print(f"Ran {done} command(s); check with: {again}", file=sys.stderr)
    if unfixed:
        raise typer.Exit(1)


def _print_json(plan: FixPlan, unfixed: list[Finding]) -> None:
    import json

    data = {
        "python": plan.python,
        "profile": plan.profile.name if plan.profile else None,
        "steps": [
            {"reason": s.reason, "command": s.display, "pip_args": list(s.pip_args), "manual": s.manual}
            for s in plan.steps
        ],
        "unverified": [f.to_json() for f in unfixed],
    }
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
