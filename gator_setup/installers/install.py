"""install_models(opts): resolve, select, preflight, download, verify, lock; the CLI is a thin shell."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from gator_setup.installers import net, remote
from gator_setup.installers.catalog import ModelEntry, fits, load_catalog
from gator_setup.installers.download import Downloaded, Target, download_files, place, storage_dir
from gator_setup.installers.errors import (
    DiskSpaceError,
    InstallError,
    LockMismatchError,
    fmt_bytes,
)
from gator_setup.installers.lockfile import LOCK_NAME, LockedFile, LockedModel, read_lock, write_lock
from gator_setup.installers.select import (
    detect_kind,
    select_by_patterns,
    select_diffusers,
    select_transformers,
)
from gator_setup.installers.verify import check_file, load_check
from gator_setup.probes.memory import MemoryFacts, free_space, memory_facts

VERIFY_MODES = ("none", "checksum", "load")
TARGET_APPS = ("comfyui",)
_SHA = re.compile(r"^[0-9a-f]{40}$")
#: Headroom kept free on the disk besides the files themselves (hub temp files, the OS).
DISK_HEADROOM = 64 * 1024 * 1024
#: Runtime libraries each kind needs to load.
RUNTIME_IMPORTS = {
    "diffusers": ("diffusers", "transformers", "safetensors"),
    "transformers": ("transformers",),
}


@dataclass(frozen=True)
class InstallOptions:
    """What `gator install-models` was asked to do."""

    names: tuple[str, ...]
    variant: str | None = None
    models_dir: str | None = None
    for_app: str | None = None
    endpoint: str | None = None
    revision: str | None = None
    dry_run: bool = False
    verify: str = "checksum"
    locked: bool = False
    lock_path: str = LOCK_NAME
    cache_dir: str | None = None
    python: str | None = None
    workers: int = 8
    progress: bool = True
    catalog_path: str | None = None
    timeout: float | None = None  # read timeout in seconds (default: $GATOR_READ_TIMEOUT or 20)


@dataclass
class PlannedModel:
    """One model resolved to a commit with its file selection and destination."""

    entry: ModelEntry
    kind: str
    commit: str
    revision: str
    variant: str | None
    files: list[remote.RemoteFile]
    skipped: int
    target: Target
    need_bytes: int = 0
    pinned: bool = False

    @property
    def total_bytes(self) -> int:
        """Size of the whole selection."""
        return sum(f.size for f in self.files)


@dataclass
class ModelResult:
    """What was installed for one model."""

    name: str
    repo: str
    commit: str
    kind: str
    files: list[str]
    total_bytes: int
    location: str
    hashes: dict[str, str] = field(default_factory=dict)
    loaded: str | None = None


@dataclass
class InstallResult:
    """Outcome of install_models; `warnings` are preflight notes that did not stop the install."""

    models: list[ModelResult]
    warnings: list[str]
    lock_path: str | None
    dry_run: bool


Log = Callable[[str], None]


def _noop(_: str) -> None:
    pass


#: Shows that something is going on while a slow step runs (a spinner on a terminal; nothing in tests).
Activity = Callable[[str], AbstractContextManager[object]]


def _no_activity(_: str) -> AbstractContextManager[object]:
    return nullcontext()


def hf_cache_dir(cache_dir: str | None) -> Path:
    """The HF hub cache in use (honours HF_HUB_CACHE / HF_HOME as huggingface_hub read them)."""
    if cache_dir:
        return Path(cache_dir)
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _target_for(entry: ModelEntry, kind: str, opts: InstallOptions) -> Target:
    if opts.for_app == "comfyui":
        base = Path(opts.models_dir or ".")
        models = base / "models" if (base / "models").is_dir() else base
        if kind in ("single-file", "voice"):
            return Target(local_dir=str(models / (entry.comfyui or "checkpoints")))
        return Target(local_dir=str(models / kind / entry.repo.split("/")[-1]))
    if opts.models_dir:
        return Target(local_dir=str(Path(opts.models_dir) / entry.repo))
    return Target(cache_dir=str(hf_cache_dir(opts.cache_dir)))


def _present_bytes(plan: PlannedModel, f: remote.RemoteFile) -> int:
    """Bytes of `f` already on disk at the target (complete file, or the .incomplete part)."""
    fp = place(plan.target, plan.entry.repo, plan.commit, f)
    if fp.final.is_file() and fp.final.stat().st_size == f.size:
        return f.size
    return min(fp.partial.stat().st_size, f.size) if fp.partial.is_file() else 0


def _select(
    entry: ModelEntry,
    kind: str,
    listing: remote.RepoListing,
    variant: str | None,
    *,
    endpoint: str,
    token: str | None,
    settings: net.NetSettings,
) -> list[str]:
    paths = list(listing.files)
    if entry.include:
        return select_by_patterns(paths, entry.include, entry.exclude)
    if kind == "diffusers":
        if "model_index.json" not in listing.files:
            raise InstallError(f"{entry.repo} has no model_index.json: it is not a diffusers pipeline.")
        index = remote.fetch_json(
            entry.repo, "model_index.json", listing.commit, endpoint=endpoint, token=token, settings=settings
        )
        return select_diffusers(paths, index, variant, entry.exclude)
    if kind == "transformers":
        return select_transformers(paths, entry.exclude)
    raise InstallError(f"{entry.name}: kind {kind!r} needs include = [...] patterns in its catalog entry.")


def plan_model(
    entry: ModelEntry,
    opts: InstallOptions,
    *,
    endpoint: str,
    token: str | None,
    locked: LockedModel | None,
    settings: net.NetSettings | None = None,
) -> PlannedModel:
    """Resolve the revision to a commit, list the repo and pick the files (nothing large downloaded)."""
    revision = locked.commit if locked else (opts.revision or entry.revision or "main")
    settings = settings or net.NetSettings.from_env(read_timeout=opts.timeout)
    listing = remote.list_repo(entry.repo, revision, endpoint=endpoint, token=token, settings=settings)
    kind = detect_kind(listing.files) if entry.kind == "auto" else entry.kind
    variant = (opts.variant or entry.variant) if kind == "diffusers" else None
    target = _target_for(entry, kind, opts)
    if locked is not None:
        if listing.commit != locked.commit:
            raise LockMismatchError(
                f"{entry.name}: the server resolved {locked.commit[:12]} to {listing.commit[:12]}."
            )
        selected = []
        for lf in locked.files:
            rf = listing.files.get(lf.path)
            if rf is None:
                raise LockMismatchError(f"{entry.name}: {lf.path} is in the lock but not on the server.")
            if (rf.size, rf.sha256, rf.git_oid) != (lf.size, lf.sha256, lf.git_oid):
                raise LockMismatchError(
                    f"{entry.name}: {lf.path} differs from the lock (size/hash) "
                    f"at commit {locked.commit[:12]}."
                )
            selected.append(lf.path)
        variant = locked.variant
    else:
        selected = _select(entry, kind, listing, variant, endpoint=endpoint, token=token, settings=settings)
    if not selected:
        raise InstallError(f"{entry.name}: no files selected from {entry.repo}@{listing.commit[:12]}.")
    files = [listing.files[p] for p in selected]
    pinned = bool(_SHA.match(revision))
    rev_name = "main" if pinned else revision
    skipped = len(listing.files) - len(files)
    return PlannedModel(entry, kind, listing.commit, rev_name, variant, files, skipped, target, pinned=pinned)


def _import_problem(python: str, modules: tuple[str, ...], *, full: bool) -> str | None:
    """Why `modules` cannot be used by `python`, or None. `full` imports them (seconds); else find_spec."""
    if not full and Path(python).absolute() == Path(sys.executable).absolute():
        import importlib.util

        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        return f"No module named {', '.join(missing)}" if missing else None
    code = (
        "import " + ", ".join(modules)
        if full
        else (
            "import importlib.util as u, sys; m = [n for n in sys.argv[1:] if u.find_spec(n) is None]; "
            "sys.exit('No module named ' + ', '.join(m) if m else 0)"
        )
    )
    try:
        proc = subprocess.run(
            [python, "-c", code, *modules], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {python}: {exc}"
    if proc.returncode == 0:
        return None
    return (proc.stderr.strip().splitlines() or ["import failed"])[-1]


def _doctor_import_problem(python: str | None, modules: tuple[str, ...]) -> str | None:
    """The doctor's import-compatibility errors (GTR101) that concern the runtime packages, or None.

    find_spec only says a package is there; GTR101 says whether `import diffusers` would fail
    (e.g. diffusers 0.25.0 with huggingface_hub 0.26.0), read statically and cached per version.
    """
    from packaging.utils import canonicalize_name

    from gator_setup.core.doctor import DoctorOptions, run_doctor
    from gator_setup.findings import Severity

    wanted = {canonicalize_name(m) for m in modules}
    report = run_doctor(
        DoctorOptions(python=python, project_dir=None, only=("GTR101",), include_plugins=False)
    )
    errors = [
        f.message
        for f in report.findings
        if f.severity is Severity.ERROR and wanted & {canonicalize_name(p) for p in f.packages}
    ]
    return "; ".join(errors) if errors else None


def preflight(
    plans: list[PlannedModel],
    opts: InstallOptions,
    *,
    free: Callable[[Path], int],
    memory: MemoryFacts,
) -> list[str]:
    """Refuse (DiskSpaceError, InstallError) or warn before any large download starts."""
    warnings: list[str] = []
    per_root: dict[Path, int] = {}
    for plan in plans:
        plan.need_bytes = sum(f.size - _present_bytes(plan, f) for f in plan.files)
        root = Path(plan.target.cache_dir or plan.target.local_dir or ".")
        per_root[root] = per_root.get(root, 0) + plan.need_bytes
    for root, need in per_root.items():
        have = free(root)
        if need and need + DISK_HEADROOM > have:
            raise DiskSpaceError(str(root), need + DISK_HEADROOM, have)
    for plan in plans:
        fit = fits(plan.entry, memory)
        if fit.verdict != "yes":
            warnings.append(f"{plan.entry.name}: {fit}")
    python = opts.python or sys.executable
    for kind in sorted({p.kind for p in plans} & set(RUNTIME_IMPORTS)):
        problem = _import_problem(python, RUNTIME_IMPORTS[kind], full=False)
        problem = problem or _doctor_import_problem(opts.python, RUNTIME_IMPORTS[kind])
        if problem is None:
            continue
        msg = f"{kind} runtime does not import in {python}: {problem}"
        if opts.verify == "load":
            raise InstallError(msg, hint="Run `gator doctor` to see why, or install without --verify load.")
        warnings.append(msg + " (run `gator doctor`)")
    return warnings


def _write_ref(plan: PlannedModel) -> None:
    """Point refs/<branch> at the commit so from_pretrained("org/name") resolves it offline."""
    if not plan.target.cache_dir:
        return
    refs = storage_dir(Path(plan.target.cache_dir), plan.entry.repo) / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    ref = refs / plan.revision
    # A pinned commit (--revision SHA, --locked) only claims refs/main when nothing else has: that
    # keeps a cache that already tracks main honest while still letting a fresh one load offline.
    if plan.pinned and ref.exists():
        return
    ref.write_text(plan.commit)


def _lock_path_for(plan: PlannedModel) -> Path:
    base = Path(plan.target.cache_dir or plan.target.local_dir or ".")
    folder = base / ".locks" if plan.target.cache_dir else base / ".cache" / "gator"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"gator-{plan.entry.repo.replace('/', '--')}.lock"


def install_plan(
    plan: PlannedModel,
    opts: InstallOptions,
    *,
    endpoint: str,
    token: str | None,
    log: Log,
    settings: net.NetSettings | None = None,
) -> ModelResult:
    """Download, verify and (optionally) load one planned model, holding a per-repo file lock."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(_lock_path_for(plan)))
    try:
        lock.acquire(timeout=1)
    except Timeout:
        log(f"{plan.entry.name}: another gator install of {plan.entry.repo} is running; waiting for it.")
        lock.acquire()
    try:
        hashes: dict[str, str] = {}

        def on_file(f: remote.RemoteFile, item: Downloaded) -> None:
            if opts.verify != "none":
                hashes[f.path] = check_file(f, item.path, item.digest)

        download_files(
            plan.entry.repo,
            plan.commit,
            plan.files,
            endpoint=endpoint,
            token=token,
            target=plan.target,
            workers=opts.workers,
            progress=opts.progress,
            hash_files=opts.verify != "none",
            on_file=on_file,
            settings=settings or net.NetSettings.from_env(read_timeout=opts.timeout),
        )
        _write_ref(plan)
    finally:
        lock.release()
    if plan.target.cache_dir:
        location = str(storage_dir(Path(plan.target.cache_dir), plan.entry.repo) / "snapshots" / plan.commit)
    else:
        location = str(plan.target.local_dir)
    result = ModelResult(
        plan.entry.name,
        plan.entry.repo,
        plan.commit,
        plan.kind,
        [f.path for f in plan.files],
        plan.total_bytes,
        location,
        hashes,
    )
    if opts.verify == "load":
        log(f"{plan.entry.name}: loading with from_pretrained to verify (offline, CPU)...")
        source = plan.entry.repo if plan.target.cache_dir else location
        result.loaded = load_check(
            plan.kind,
            source,
            python=opts.python or sys.executable,
            revision=plan.commit if plan.target.cache_dir else None,
            variant=plan.variant,
            cache_dir=plan.target.cache_dir,
        )
    return result


def install_models(
    opts: InstallOptions,
    *,
    free: Callable[[Path], int] = free_space,
    memory: Callable[[], MemoryFacts] = memory_facts,
    log: Log = _noop,
    activity: Activity = _no_activity,
) -> InstallResult:
    """Install the named models (catalog names or org/name ids); see InstallOptions."""
    if opts.verify not in VERIFY_MODES:
        raise InstallError(f"--verify must be one of {', '.join(VERIFY_MODES)}, not {opts.verify!r}.")
    if opts.for_app and opts.for_app not in TARGET_APPS:
        raise InstallError(f"--for must be one of {', '.join(TARGET_APPS)}, not {opts.for_app!r}.")
    if opts.for_app and not opts.models_dir:
        raise InstallError("--for comfyui needs --models-dir pointing at the ComfyUI folder.")
    if opts.locked and opts.revision:
        raise InstallError("--locked and --revision conflict: the lock file already pins the commit.")
    catalog = load_catalog(Path(opts.catalog_path) if opts.catalog_path else None)
    lock_file = Path(opts.lock_path)
    if opts.locked and not lock_file.is_file():
        raise InstallError(
            f"--locked: {lock_file} does not exist.", hint="Run without --locked once to write it."
        )
    locked_models = read_lock(lock_file) if opts.locked else {}
    names = opts.names or (tuple(locked_models) if opts.locked else ())
    if not names:
        raise InstallError("Name at least one model.", hint="`gator models list` shows the catalog.")
    endpoint = remote.endpoint_or_default(opts.endpoint)
    settings = net.NetSettings.from_env(read_timeout=opts.timeout)
    token = remote.find_token()
    plans: list[PlannedModel] = []
    for name in dict.fromkeys(names):
        entry = catalog.resolve(name)
        locked = None
        if opts.locked:
            locked = locked_models.get(entry.name)
            if locked is None:
                raise LockMismatchError(f"--locked: {entry.name} is not in {lock_file}.")
            entry = replace(entry, repo=locked.repo, kind=locked.kind, include=(), exclude=())
        with activity(f"Asking {endpoint} about {entry.repo}"):
            plan = plan_model(entry, opts, endpoint=endpoint, token=token, locked=locked, settings=settings)
        log(
            f"{entry.name}: {entry.repo} @ {plan.commit[:12]}: {len(plan.files)} files, "
            f"{fmt_bytes(plan.total_bytes)} ({plan.skipped} other files in the repo skipped)"
        )
        # Gated or private repos fail here, on a HEAD, not after gigabytes of other files.
        big = max(plan.files, key=lambda f: f.size)
        with activity(f"Checking access to {entry.repo}"):
            remote.check_access(
                entry.repo,
                big.path,
                plan.commit,
                endpoint=endpoint,
                token=token,
                gated=entry.gated,
                settings=settings,
            )
        plans.append(plan)
    warnings = preflight(plans, opts, free=free, memory=memory())
    for w in warnings:
        log(f"warning: {w}")
    if opts.dry_run:
        results = [
            ModelResult(
                p.entry.name,
                p.entry.repo,
                p.commit,
                p.kind,
                [f.path for f in p.files],
                p.total_bytes,
                str(p.target.cache_dir or p.target.local_dir),
            )
            for p in plans
        ]
        return InstallResult(results, warnings, None, True)
    results = [
        install_plan(p, opts, endpoint=endpoint, token=token, log=log, settings=settings) for p in plans
    ]
    if not opts.locked:
        write_lock(
            lock_file,
            [
                LockedModel(
                    p.entry.name,
                    p.entry.repo,
                    p.commit,
                    p.kind,
                    p.variant,
                    tuple(LockedFile(f.path, f.size, f.sha256, f.git_oid) for f in p.files),
                )
                for p in plans
            ],
        )
    return InstallResult(results, warnings, str(lock_file), False)
