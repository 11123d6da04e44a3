"""run_doctor: probe the environment once, run the selected checks, return a Report."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gator_setup.checks.base import Check, Finding, Severity
from gator_setup.checks.registry import PluginFailure, all_checks
from gator_setup.checks.runner import CRASH_CODE, CheckResult, run_checks
from gator_setup.core.config import Settings, load_settings
from gator_setup.errors import UnknownNameError, UsageError
from gator_setup.probes.python_env import (
    current_interpreter,
    query_interpreter,
    read_distributions,
    relevant_env,
)
from gator_setup.report.model import Report
from gator_setup.snapshot import EnvSnapshot


@dataclass(frozen=True)
class DoctorOptions:
    """What `gator doctor` was asked to do."""

    python: str | None = None
    project_dir: str | None = "."
    profile: str | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    include_plugins: bool = True
    #: Import torch in a subprocess of the target interpreter (arch list, devices, tensor op).
    deep: bool = False
    #: Replay a support bundle or hand-made tree instead of probing this machine.
    sysroot: str | None = None
    #: Write the raw probe inputs to this tar.gz.
    save_bundle: str | None = None


def select_checks(
    checks: list[type[Check]], only: tuple[str, ...], skip: tuple[str, ...]
) -> list[type[Check]]:
    """Apply --only / --skip; an unknown code is a usage error with close matches."""
    known = {c.code for c in checks}
    for code in (*only, *skip):
        if code not in known:
            raise UnknownNameError("check code", code, known, hint="`gator checks` lists the codes.")
    if only:
        return [c for c in checks if c.code in only]
    return [c for c in checks if c.default_enabled and c.code not in skip]


def build_snapshot(opts: DoctorOptions, settings: Settings, needs: frozenset[str]) -> EnvSnapshot:
    """Run the probes that the selected checks need, once each."""
    from gator_setup.core.platform_probe import probe_into

    interp = query_interpreter(opts.python) if opts.python else current_interpreter()
    dists, problems = read_distributions(interp.sys_path)
    project = str(Path(opts.project_dir).resolve()) if opts.project_dir else None
    imports = None
    if "imports" in needs:
        from gator_setup.probes.imports import probe_imports

        imports = probe_imports(
            interp.sys_path, dists, project, paths=settings.paths, exclude=settings.exclude
        )
    snapshot = EnvSnapshot(
        interpreter=interp,
        distributions=dists,
        env_vars=relevant_env(os.environ),
        project_dir=project,
        problems=tuple(problems),
        imports=imports,
    )
    if "numpy_abi" in needs:
        from gator_setup.probes.numpy_abi import FACTS_KEY, probe_numpy_abi

        snapshot.extra[FACTS_KEY] = probe_numpy_abi(dists)
    profile_name = opts.profile or settings.profile
    if profile_name:
        from gator_setup.core.profiles import load_profile

        snapshot.profile = load_profile(profile_name)
    if "platform" in needs or snapshot.profile is not None or opts.sysroot or opts.save_bundle:
        probe_into(snapshot, opts)
    return snapshot


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
    classes, failures = all_checks(include_plugins=opts.include_plugins)
    selected = [cls() for cls in select_checks(classes, opts.only, opts.skip)]
    needs = frozenset().union(*(c.needs for c in selected)) if selected else frozenset()
    if opts.sysroot and opts.save_bundle:
        raise UsageError("--sysroot replays a bundle; it cannot also --save-bundle.")
    with tempfile.TemporaryDirectory(prefix="gator-sysroot-") as work:
        if opts.sysroot:
            from gator_setup.core.bundle import open_sysroot

            opts = _replace_sysroot(opts, str(open_sysroot(opts.sysroot, Path(work))))
        snapshot = build_snapshot(opts, settings, needs)
    results = run_checks(selected, snapshot)
    results.extend(_plugin_result(f) for f in failures)
    ignored = set(settings.ignore)
    for r in results:
        r.findings = [f for f in r.findings if f.code not in ignored]
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
        "project": snapshot.project_dir,
        "env": dict(snapshot.env_vars),
        "settings": settings.source,
    }
    if snapshot.platform is not None:
        from gator_setup.core.platform_probe import platform_context

        context["platform"] = platform_context(snapshot)
    return Report(command="doctor", results=results, context=context)


def _replace_sysroot(opts: DoctorOptions, sysroot: str) -> DoctorOptions:
    from dataclasses import replace

    return replace(opts, sysroot=sysroot)
