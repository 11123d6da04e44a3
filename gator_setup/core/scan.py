"""run_scan: the import-compatibility and deprecated-API analysis of source trees and wheels."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gator_setup.analysis.providers import Provider, Providers, providers_from_env
from gator_setup.analysis.scan import ScanResult, Walked, scan_tree, scan_wheel, walk_stats
from gator_setup.checks.runner import run_checks
from gator_setup.core.options import ScanOptions as ScanOptions  # (re-exported)
from gator_setup.errors import GatorError, InputError, UsageError
from gator_setup.probes.imports import scan_layout_dir, tree_cache_file
from gator_setup.report.model import Report
from gator_setup.snapshot import EnvSnapshot, ProbeProblem

if TYPE_CHECKING:
    import subprocess

HUB_MODULE = "huggingface_hub"
DOWNLOAD_TIMEOUT_S = 120.0


class DownloadError(GatorError):
    """A provider wheel could not be fetched (offline and not cached, or no such version)."""


def fetch_provider(dist: str, module: str, version: str) -> Provider:
    """Unpack `dist==version` into the gator cache (pip download --no-deps; offline once cached)."""
    import shutil
    import tempfile

    from packaging.version import InvalidVersion, Version

    from gator_setup.cachedir import cache_root

    try:
        Version(version)
    except InvalidVersion:
        raise UsageError(f"{version!r} is not a version.", hint="Example: --hub-version 1.0.0") from None
    target = cache_root() / "providers" / f"{dist}-{version}"
    if (target / ".complete").is_file():
        return Provider(module, dist, version, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".dl-") as tmp:
        unpacked = Path(tmp) / "unpacked"
        _download_unpacked(dist, version, Path(tmp), unpacked)
        (unpacked / ".complete").write_text(f"{dist}=={version}")
        # Rename into place only when complete: an interrupted run leaves nothing half-unpacked.
        try:
            os.replace(unpacked, target)
        except OSError:
            if not (target / ".complete").is_file():
                shutil.rmtree(target, ignore_errors=True)
                os.replace(unpacked, target)
    return Provider(module, dist, version, target)


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    import subprocess  # (only to fetch a provider: a scan's start does not pay for the import)

    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(cmd, 1, "", str(exc))


def _download_unpacked(dist: str, version: str, tmp: Path, unpacked: Path) -> None:
    """`pip download --no-deps` the wheel and unzip it; without pip, `uv pip install --target`."""
    import shutil
    import zipfile

    spec = f"{dist}=={version}"
    pip = (
        [sys.executable, "-m", "pip"]
        if _has_pip()
        else ([shutil.which("pip") or ""] if shutil.which("pip") else None)
    )
    errors: list[str] = []
    if pip:
        proc = _run(
            [
                *pip,
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-q",
                "-d",
                str(tmp),
                spec,
            ]
        )
        wheels = sorted(tmp.glob("*.whl"))
        if proc.returncode == 0 and wheels:
            try:
                with zipfile.ZipFile(wheels[0]) as zf:
                    zf.extractall(unpacked)
                return
            except (zipfile.BadZipFile, OSError) as exc:
                raise DownloadError(f"Downloaded wheel for {spec} is unreadable: {exc}.") from None
        errors.append((proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1])
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if Path(uv).exists():
        proc = _run([uv, "pip", "install", "-q", "--no-deps", "--target", str(unpacked), spec])
        if proc.returncode == 0:
            return
        errors.append((proc.stderr.strip().splitlines() or ["uv failed"])[-1])
    raise DownloadError(
        f"Cannot download {spec}: {errors[-1] if errors else 'neither pip nor uv is available'}",
        hint="Check the version exists on PyPI and that PyPI is reachable (needed once; it is cached).",
    )


def _has_pip() -> bool:
    import importlib.util

    return importlib.util.find_spec("pip") is not None


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
    interpreter answers (a subprocess of ~30 ms: about a sixth of a warm scan of site-packages)."""
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
