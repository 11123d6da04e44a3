"""run_doctor: probe the environment once, run the selected checks, return a Report."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from gator_setup.checks.base import Check, Finding, Severity
from gator_setup.checks.registry import COMMAND_RULES, PluginFailure, all_checks
from gator_setup.checks.runner import run_checks
from gator_setup.core.config import Settings, load_settings
from gator_setup.core.options import DoctorOptions as DoctorOptions  # (re-exported)
from gator_setup.core.project import gitignore_excludes
from gator_setup.errors import UnknownNameError, UsageError
from gator_setup.findings import CRASH_CODE, CheckResult
from gator_setup.probes.python_env import (
    current_interpreter,
    query_interpreter,
    read_distributions,
    relevant_env,
)
from gator_setup.report.model import Report
from gator_setup.snapshot import EnvSnapshot

if TYPE_CHECKING:
    from gator_setup.envfacts import Distribution, Interpreter, ProbeProblem
    from gator_setup.probes.aside import Aside


def select_checks(
    checks: list[type[Check]], only: tuple[str, ...], skip: tuple[str, ...]
) -> list[type[Check]]:
    """Apply --only / --skip; any registered code is accepted (those of --what-if and check-pins
    too: they select nothing here), an unknown one is a usage error with close matches."""
    check_codes((*only, *skip), checks)
    if only:
        return [c for c in checks if c.code in only]
    return [c for c in checks if c.default_enabled and c.code not in skip]


def check_codes(codes: Iterable[str], checks: Iterable[type[Check]]) -> None:
    """Raise UnknownNameError for a code that neither a check nor a command rule has."""
    known = {c.code for c in checks} | {r.code for r in COMMAND_RULES}
    for code in codes:
        if code not in known:
            raise UnknownNameError("check code", code, known, hint="`gator checks` lists the codes.")


def select_results(
    report: Report, only: tuple[str, ...], skip: tuple[str, ...], ignored: Iterable[str] = ()
) -> Report:
    """A command's report with --only / --skip applied to its results and `[tool.gator] ignore`
    to its findings (for the commands whose results are not check classes: --what-if)."""
    check_codes((*only, *skip), all_checks(include_plugins=False)[0])
    drop = set(ignored)
    kept = [r for r in report.results if (r.code in only if only else r.code not in skip)]
    for r in kept:
        r.findings = [f for f in r.findings if f.code not in drop]
    report.results = kept
    return report


class Environment(NamedTuple):
    """The inspected interpreter and its distributions, read before the probes run, and the
    forked child doing the side work (`_start_side_work`) when it was started with them."""

    interpreter: Interpreter
    distributions: dict[str, Distribution]
    problems: list[ProbeProblem]
    side_work: Aside[None] | None = None


#: The probes whose cold work the side child does (`_start_side_work`), all needed by the
#: default selection of checks (tests/core/test_doctor_probes.py): with no --only / --skip, the
#: child starts before the checks are even loaded.
SIDE_NEEDS = frozenset({"numpy_abi", "requirements"})


def read_environment(opts: DoctorOptions, side_needs: frozenset[str] = frozenset()) -> Environment:
    """The interpreter and distributions to inspect, and the side work of `side_needs` started
    on them (not for one worker, nor for --sysroot: a replayed bundle's distributions replace
    these)."""
    interp = query_interpreter(opts.python) if opts.python else current_interpreter()
    dists, problems = read_distributions(interp.sys_path)
    side = None
    if opts.workers != 1 and not opts.sysroot and side_needs:
        side = _start_side_work(side_needs, dists, interp)
    return Environment(interp, dists, problems, side)


def build_snapshot(
    opts: DoctorOptions, settings: Settings, needs: frozenset[str], env: Environment | None = None
) -> EnvSnapshot:
    """Run the probes that the selected checks need, once each. `env`: the environment already
    read (and its side work started), else it is read here."""
    from gator_setup.core.platform_probe import probe_into

    # The probes that read no Python file do their cold work in a forked child meanwhile (one
    # worker asked for: here, afterwards); GTR104's gates are asked of the Python files in the
    # imports probe's pass over them (one read per file; docs/imports.md).
    interp, dists, problems, side_child = env or read_environment(opts, needs & SIDE_NEEDS)
    project = str(Path(opts.project_dir).resolve()) if opts.project_dir else None
    gates_todo: list[Distribution] = []
    if "backend_gates" in needs:
        from gator_setup.probes.backend_gates import uncached

        gates_todo = uncached(dists)
    imports = None
    if "imports" in needs:
        from gator_setup.probes.backend_gates import QUESTION
        from gator_setup.probes.imports import probe_imports

        imports = probe_imports(
            interp.sys_path,
            dists,
            project,
            paths=settings.paths,
            # (the project's .gitignore too: what git ignores is not the project's code)
            exclude=settings.exclude + (gitignore_excludes(Path(project)) if project else ()),
            workers=opts.workers,
            question=QUESTION if gates_todo else None,
            ask_of=gates_todo,
        )
    snapshot = EnvSnapshot(
        interpreter=interp,
        distributions=dists,
        env_vars=relevant_env(os.environ),
        project_dir=project,
        problems=tuple(problems),
        imports=imports,
    )
    if side_child is not None:
        side_child.result()
    if "numpy_abi" in needs:
        from gator_setup.probes.numpy_abi import FACTS_KEY as ABI_KEY
        from gator_setup.probes.numpy_abi import probe_numpy_abi

        snapshot.extra[ABI_KEY] = probe_numpy_abi(dists)
    if "backend_gates" in needs:
        from gator_setup.probes.backend_gates import FACTS_KEY as GATES_KEY
        from gator_setup.probes.backend_gates import probe_backend_gates

        answers = imports.answers if imports is not None else None
        snapshot.extra[GATES_KEY] = probe_backend_gates(dists, answers=answers, workers=opts.workers)
    profile_name = opts.profile or settings.profile
    if profile_name:
        from gator_setup.knowledge.profiles import load_profile

        snapshot.profile = load_profile(profile_name)
    if "platform" in needs or snapshot.profile is not None or opts.sysroot or opts.save_bundle:
        probe_into(snapshot, opts)
    if "requirements" in needs:
        from gator_setup.probes.requirements import FACTS_KEY as REQUIREMENTS_KEY
        from gator_setup.probes.requirements import probe_requirements

        # (after the platform probe: a replayed bundle brings its own interpreter and distributions)
        snapshot.extra[REQUIREMENTS_KEY] = probe_requirements(snapshot.distributions, snapshot.interpreter)
    return snapshot


def _start_side_work(
    needs: frozenset[str], dists: Mapping[str, Distribution], interp: Interpreter
) -> Aside[None] | None:
    """A forked child doing the cold work of GTR103 (every binary's data sections) and GTR100 (the
    requirement and marker parse) while the imports probe runs; None when their caches are warm.
    The probes then read their caches back as on a warm run; a child that fails leaves them empty
    and the probes do the work here, so the facts are the same either way. Not for a replayed
    bundle (--sysroot): its own distributions replace these."""
    from functools import partial

    from gator_setup.probes import numpy_abi, requirements

    jobs: list[Callable[[], None]] = []
    if "numpy_abi" in needs and (todo := numpy_abi.uncached(dists)):
        jobs.append(partial(numpy_abi.fill_caches, todo))
    if "requirements" in needs and requirements.uncached(dists, interp):
        jobs.append(partial(requirements.fill_cache, dists, interp))
    if not jobs:
        return None
    from gator_setup.probes.aside import Aside

    return Aside(partial(_run_all, jobs))


def _run_all(jobs: list[Callable[[], None]]) -> None:
    for job in jobs:
        job()


def _plugin_result(failure: PluginFailure) -> CheckResult:
    finding = Finding(
        CRASH_CODE,
        Severity.ERROR,
        f"check plugin {failure.name!r} failed to load: {failure.error}",
        fix="Upgrade or uninstall the plugin that provides it; the built-in checks still ran.",
    )
    return CheckResult(CRASH_CODE, f"Plugin {failure.name}", "gator", [finding], crashed=True)


def run_doctor(opts: DoctorOptions) -> Report:
    """Probe, check and report; raises GatorError only when gator cannot do its job."""
    if opts.project_dir is not None and not Path(opts.project_dir).is_dir():
        raise UsageError(f"Project folder {opts.project_dir} does not exist.", hint="Pass --project DIR.")
    settings = load_settings(opts.project_dir)
    if opts.sysroot and opts.save_bundle:
        raise UsageError("--sysroot replays a bundle; it cannot also --save-bundle.")
    if opts.from_output and (opts.sysroot or opts.save_bundle):
        raise UsageError("--from-output replays pasted outputs; use it without --sysroot/--save-bundle.")
    # With the default selection the environment is read, and the side work started on it, before
    # the checks are loaded: the child works on a core the loading leaves idle.
    env = None
    if not (opts.only or opts.skip or opts.from_output or opts.sysroot):
        env = read_environment(opts, SIDE_NEEDS)
    classes, failures = all_checks(include_plugins=opts.include_plugins)
    selected = [cls() for cls in select_checks(classes, opts.only, opts.skip)]
    needs = frozenset().union(*(c.needs for c in selected)) if selected else frozenset()
    if opts.from_output or opts.sysroot:
        import tempfile

        # (the replayed outputs are unpacked into a sysroot that lives as long as the probes)
        with tempfile.TemporaryDirectory(prefix="gator-sysroot-") as work:
            if opts.from_output:
                from gator_setup.core.bundle import sysroot_from_outputs

                opts = _replace_sysroot(opts, str(sysroot_from_outputs(opts.from_output, Path(work))))
            elif opts.sysroot:
                from gator_setup.core.bundle import open_sysroot

                opts = _replace_sysroot(opts, str(open_sysroot(opts.sysroot, Path(work))))
            snapshot = build_snapshot(opts, settings, needs)
    else:
        snapshot = build_snapshot(opts, settings, needs, env)
    results = run_checks(selected, snapshot)
    from gator_setup.core.causes import group_by_cause

    group_by_cause(results)
    searched: dict[str, object] = {}
    if not opts.sysroot and any(
        f.severity >= Severity.ERROR and f.evidence.get("cause") for r in results for f in r.findings
    ):
        from gator_setup.core.fixsearch import verify_fixes
        from gator_setup.progress import activity

        with activity("checking each fix against this environment (resolving with uv)"):
            verify_fixes(results, snapshot, searched)
    results.extend(_plugin_result(f) for f in failures)
    ignored = set(settings.ignore)
    for r in results:
        r.findings = [f for f in r.findings if f.code not in ignored]
    notes = [
        f"{r.code} is reported by `{r.reported_by}`, not by this run."
        for r in COMMAND_RULES
        if r.code in opts.only and r.code != CRASH_CODE
    ]
    interp = snapshot.interpreter
    context = {
        "headline": f"gator doctor · Python {interp.version} ({interp.executable}) · "
        f"{len(snapshot.distributions)} distributions",
        "interpreter": {
            "executable": interp.executable,
            "version": interp.version,
            "platform": interp.platform,
            "machine": interp.machine,
            "venv": interp.is_venv,
        },
        "distributions": len(snapshot.distributions),
        # the report's "here:" line: the model stack's key packages, or their absence (None)
        "packages": {
            name: (d.version if (d := snapshot.distributions.get(name)) else None)
            for name in ("torch", "diffusers", "transformers", "huggingface-hub", "accelerate", "numpy")
        },
        "project": snapshot.project_dir,
        "env": dict(snapshot.env_vars),
        "settings": settings.source,
        **searched,
    }
    if snapshot.platform is not None:
        from gator_setup.core.platform_probe import platform_context

        context["platform"] = platform_context(snapshot)
    return Report(command="doctor", results=results, context=context, notes=notes)


def _replace_sysroot(opts: DoctorOptions, sysroot: str) -> DoctorOptions:
    return opts._replace(sysroot=sysroot)
