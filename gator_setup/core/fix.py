"""`gator fix --profile NAME`: the exact commands that bring an environment in line with a profile.

The plan is computed from the same snapshot and checks as `gator doctor`; commands run only with
`--apply`, through the target interpreter's own pip, one at a time, stopping at the first failure.
Steps that need root (group membership) are printed, never run.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from gator_setup.checks.base import Finding, Severity
from gator_setup.checks.platform import DeviceAccess, NumpyAbi
from gator_setup.checks.profile import ProfileConstraints, ProfileTorch
from gator_setup.checks.runner import findings_of
from gator_setup.core.doctor import DoctorOptions, build_snapshot
from gator_setup.errors import GatorError, UsageError
from gator_setup.knowledge.profiles import Profile
from gator_setup.snapshot import EnvSnapshot


@dataclass(frozen=True)
class FixStep:
    """One command: what it fixes, the pip arguments, or a manual command to run yourself."""

    reason: str
    pip_args: tuple[str, ...] = ()
    manual: str | None = None

    @property
    def display(self) -> str:
        return self.manual or "pip " + " ".join(shlex.quote(a) for a in self.pip_args)


@dataclass
class FixPlan:
    """The steps for one environment and profile (profile None: the doctor's verified fixes)."""

    profile: Profile | None
    python: str
    steps: list[FixStep] = field(default_factory=list)

    @property
    def runnable(self) -> list[FixStep]:
        return [s for s in self.steps if s.manual is None]


@dataclass(frozen=True)
class FixOptions:
    """What `gator fix` was asked to do (no profile: the verified fixes of the doctor's errors)."""

    profile: str | None = None
    python: str | None = None
    project_dir: str | None = "."
    sysroot: str | None = None
    apply: bool = False


class FixFailed(GatorError):
    """A fix command exited non-zero; later steps were not run."""

    exit_code = 1


def plan_from_snapshot(env: EnvSnapshot) -> FixPlan:
    """Turn the profile findings of a snapshot into ordered commands (torch first, then the pins)."""
    prof = env.profile
    if prof is None:
        raise UsageError("gator fix needs a profile.", hint="Use --profile NAME.")
    plan = FixPlan(profile=prof, python=env.interpreter.executable)
    torch_args = prof.torch_install_args()
    torch_bad = findings_of(ProfileTorch(), env)
    if torch_bad and torch_args:
        plan.steps.append(FixStep(torch_bad[0].message, tuple(torch_args)))
    pins: list[str] = []
    reasons: list[str] = []
    findings: list[Finding] = [*findings_of(ProfileConstraints(), env), *findings_of(NumpyAbi(), env)]
    for f in findings:
        for name in f.packages:
            req = prof.constraint(name)
            if req is not None and str(req) not in pins and name != "torch":
                pins.append(str(req))
                reasons.append(f.message)
        if f.code == NumpyAbi.code and not any(p.startswith("numpy") for p in pins):
            pins.append("numpy<2")
            reasons.append(f.message)
    if pins:
        plan.steps.append(FixStep("; ".join(reasons), ("install", "-c", prof.constraints_arg, *pins)))
    for f in findings_of(DeviceAccess(), env):
        if f.severity >= Severity.ERROR and f.fix:
            plan.steps.append(FixStep(f.message, manual=f.fix))
    return plan


def plan_env_fix(opts: FixOptions) -> tuple[FixPlan, list[Finding]]:
    """Without a profile: the doctor's errors and, for each cause, its verified fix as a step.

    Returns the plan (verified fixes only) and the error findings with no verified fix.
    """
    from gator_setup.core.doctor import run_doctor

    report = run_doctor(DoctorOptions(python=opts.python, project_dir=opts.project_dir))
    python = str(report.context.get("interpreter", {}).get("executable", opts.python or sys.executable))
    plan = FixPlan(profile=None, python=python)
    unfixed: list[Finding] = []
    for f in report.findings:
        if f.severity < Severity.ERROR:
            continue
        req = f.evidence.get("fix_requirement")
        if req and str(f.evidence.get("fix_verified", "")).startswith("yes"):
            step = FixStep(f.message, ("install", req))
            if step.pip_args not in {s.pip_args for s in plan.steps}:
                plan.steps.append(step)
        else:
            unfixed.append(f)
    return plan, unfixed


def plan_fix(opts: FixOptions) -> FixPlan:
    """Probe the environment (or replay a sysroot) and plan the fix."""
    from gator_setup.core.bundle import open_sysroot
    from gator_setup.core.config import load_settings

    if opts.apply and opts.sysroot:
        raise UsageError("--apply changes this machine; it cannot be combined with --sysroot.")
    import tempfile
    from pathlib import Path

    settings = load_settings(None)
    with tempfile.TemporaryDirectory(prefix="gator-sysroot-") as work:
        sysroot = str(open_sysroot(opts.sysroot, Path(work))) if opts.sysroot else None
        doc = DoctorOptions(python=opts.python, project_dir=None, profile=opts.profile, sysroot=sysroot)
        if opts.profile is None:
            raise UsageError("plan_fix needs a profile; plan_env_fix plans without one.")
        env = build_snapshot(doc, settings, frozenset({"platform", "profile"}))
    return plan_from_snapshot(env)


Runner = Callable[[list[str]], int]


def _run(argv: list[str]) -> int:
    return subprocess.run(argv, check=False).returncode


def pip_command(python: str) -> list[str]:
    """How to run pip for `python`: its own pip, else `uv pip` (uv venvs ship without pip)."""
    import shutil

    try:
        probe = [python, "-m", "pip", "--version"]
        has_pip = subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        has_pip = False
    from gator_setup.probes.resolver import uv_command

    uv = shutil.which("uv") or next(iter(uv_command() or []), None)
    if not has_pip and uv:
        return [uv, "pip"]
    return [python, "-m", "pip"]


def apply_plan(
    plan: FixPlan,
    runner: Runner = _run,
    log: Callable[[str], None] | None = None,
    pip: list[str] | None = None,
) -> int:
    """Run the pip steps with the target interpreter's pip; raise FixFailed at the first failure."""
    say = log or (lambda line: print(line, file=sys.stderr))
    base = pip or pip_command(plan.python)
    for step in plan.runnable:
        argv = [*base, *step.pip_args]
        if base[-1] == "pip" and base[0] != plan.python:
            # uv pip: the subcommand first, then --python to aim at the target environment.
            argv = [*base, step.pip_args[0], "--python", plan.python, *step.pip_args[1:]]
        say(f"+ {' '.join(shlex.quote(a) for a in argv)}")
        rc = runner(argv)
        if rc != 0:
            raise FixFailed(f"`{step.display}` failed with exit {rc}; later steps were not run.")
    return len(plan.runnable)
