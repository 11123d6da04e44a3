"""run_scan: the import-compatibility and deprecated-API analysis of source trees and wheels."""

from __future__ import annotations

import os
from pathlib import Path

from gator_setup.analysis.providers import Providers, providers_from_env
from gator_setup.analysis.scan import ScanResult, Walked, scan_tree, scan_wheel, walk_stats
from gator_setup.checks.runner import run_checks
from gator_setup.core.options import ScanOptions as ScanOptions  # (re-exported)
from gator_setup.errors import InputError, UsageError
from gator_setup.probes.imports import scan_layout_dir, tree_cache_file
from gator_setup.probes.provider_wheel import fetch_provider
from gator_setup.report.model import Report
from gator_setup.snapshot import EnvSnapshot, ProbeProblem

HUB_MODULE = "huggingface_hub"


def _installed_providers(python: str | None) -> tuple[Providers, EnvSnapshot]:
    from gator_setup.cachedir import cache_root
    from gator_setup.probes.imports import watched_providers
    from gator_setup.probes.python_env import current_interpreter, query_interpreter, read_distributions

    interp = query_interpreter(python, cache_root() / "interpreters") if python else current_interpreter()
    dists, problems = read_distributions(interp.sys_path)
    providers = providers_from_env(watched_providers(), dists, interp.sys_path)
    snap = EnvSnapshot(interpreter=interp, distributions=dists, problems=tuple(problems))
    return providers, snap


def _walk_paths(opts: ScanOptions) -> dict[str, Walked]:
    """The walk of each folder to scan (distribution tops not walked: see walk_stats)."""
    return {
        raw: walk_stats(Path(raw), opts.exclude, dist_tops=True, layout_dir=scan_layout_dir())
        for raw in dict.fromkeys(opts.paths)
        if os.path.isdir(raw)
    }


def _providers_and_walks(opts: ScanOptions) -> tuple[Providers, EnvSnapshot, dict[str, Walked]]:
    """The providers and, for `--python`, the walks of the folders to scan made while the other
    interpreter answers (a subprocess whose start-up is a good part of a warm scan of a
    site-packages: docs/imports.md)."""
    if not opts.python:
        return (*_installed_providers(None), {})
    from gator_setup.probes.python_env import answer_ready

    if answer_ready(opts.python):
        # Answered already (it was started before gator's own imports, or is cached): asking in
        # this thread is quicker than walking beside a thread that would contend for the GIL.
        found = _installed_providers(opts.python)
        return (*found, _walk_paths(opts))
    import threading

    got: list[tuple[Providers, EnvSnapshot]] = []
    failed: list[BaseException] = []

    def ask() -> None:
        try:
            got.append(_installed_providers(opts.python))
        except BaseException as exc:  # re-raised in the caller's thread
            failed.append(exc)

    worker = threading.Thread(target=ask, name="gator-providers", daemon=True)
    worker.start()
    try:
        walks = _walk_paths(opts)
        # the knowledge the scan needs next (TOML: a few ms), read while the answer is awaited
        from gator_setup.checks.deprecations import deprecation_needles
        from gator_setup.probes.imports import watched_providers

        watched_providers()
        deprecation_needles()
    finally:
        # joined before any worker process is forked (fork wants a single-threaded parent)
        worker.join()
    if failed:
        raise failed[0]
    return (*got[0], walks)


def _scan_one(
    path: Path,
    providers: Providers,
    exclude: tuple[str, ...],
    walked: Walked | None = None,
    workers: int | None = None,
) -> ScanResult:
    from gator_setup.checks.deprecations import EXEMPT_PACKAGES, deprecation_needles

    if not path.exists():
        if path.is_symlink():
            raise InputError(path, "is a broken symbolic link")
        raise UsageError(f"{path} does not exist.", hint="Pass source folders, .py files or .whl files.")
    if path.is_file() and path.suffix in (".whl", ".zip"):
        import zipfile

        try:
            return scan_wheel(
                path, providers, deep_needles=deprecation_needles(), deep_exempt=EXEMPT_PACKAGES
            )
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(path, f"not a readable wheel ({exc})") from None
    return scan_tree(
        path,
        providers,
        exclude=exclude,
        cache_file=tree_cache_file(path, providers, exclude, purpose="scan"),
        deep_needles=deprecation_needles(),
        deep_exempt=EXEMPT_PACKAGES,
        walked=walked,
        layout_dir=scan_layout_dir(),
        workers=workers,
    )


def run_scan(opts: ScanOptions) -> Report:
    """Scan paths against the installed providers (or a named hub version); GTR101 + GTR102."""
    from gator_setup.checks.deprecations import DeprecatedHubApis
    from gator_setup.checks.imports import ProviderImportsExist
    from gator_setup.probes.imports import ImportFacts, ProviderInfo, import_issue

    if not opts.paths:
        raise UsageError("Nothing to scan.", hint="Pass one or more folders, .py or .whl files.")
    providers, snap, walks = _providers_and_walks(opts)
    if opts.hub_version:
        providers = providers.with_version(fetch_provider("huggingface_hub", HUB_MODULE, opts.hub_version))
    facts = ImportFacts(
        providers={p.module: ProviderInfo(p.module, p.dist, p.version, str(p.root)) for p in providers},
        origin="scan",
    )
    files_seen = 0
    for raw in opts.paths:
        path = Path(raw)
        res = _scan_one(path, providers, opts.exclude, walks.get(raw), opts.workers)
        files_seen += res.files_seen
        facts.project_files.extend(res.files)
        for p in res.problems:
            where = p.path + (f":{p.line}" if p.line else "")
            facts.problems.append(ProbeProblem("scan", where, p.message))
        for si in res.issues:
            rel = os.path.relpath(si.file.path, path) if path.is_dir() else si.file.path
            facts.issues.append(
                import_issue(si.unresolved, "project", None, si.file.path, rel, si.file.module)
            )
    snap.imports = facts
    snap.project_dir = None
    results = run_checks([ProviderImportsExist(), DeprecatedHubApis()], snap)
    context = {
        "headline": f"gator scan · {files_seen} Python file(s) · against "
        + (
            ", ".join(f"{p.dist} {p.version}" for p in sorted(providers, key=lambda p: p.module))
            or "no providers"
        ),
        "paths": list(opts.paths),
        "providers": {p.module: p.version for p in providers},
        "files": files_seen,
    }
    return Report(command="scan", results=results, context=context)
