"""Import facts: what installed packages and the project import from watched providers.

The probe finds the installed distributions that declare a watched provider in Requires-Dist,
reads their Python files (from RECORD), and keeps, per file, the imports of provider modules
and the provider calls (AST; files whose bytes do not mention a provider are not parsed). The
per-distribution result is cached under the gator cache dir keyed by name + version + gator
version, so a second run parses nothing. Every reference is then resolved against the exports
of the providers installed in the inspected environment (read statically, never imported).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from gator_setup import __version__
from gator_setup.analysis.candidates import import_candidates
from gator_setup.analysis.extract import analyze_source, module_name, needs_scan
from gator_setup.analysis.model import FileAnalysis
from gator_setup.analysis.providers import Providers, Unresolved, providers_from_env
from gator_setup.analysis.runtime import file_role, import_time_modules
from gator_setup.analysis.scan import needles_for, scan_tree
from gator_setup.cachedir import cache_root
from gator_setup.envfacts import Distribution, ProbeProblem
from gator_setup.shorthash import short_hash

#: Bumped whenever the extraction changes what it records, so old cache entries are ignored.
ANALYSIS_VERSION = "6"
#: A project bigger than this is probably a home folder, not a project: stop and say so.
MAX_PROJECT_FILES = 20000
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@lru_cache(maxsize=1)
def watched_providers() -> dict[str, str]:
    """module -> distribution name of every watched provider (knowledge/watched_providers.toml)."""
    from gator_setup.tomlread import load_toml

    data = load_toml(Path(__file__).resolve().parent.parent / "knowledge" / "watched_providers.toml")
    return {str(p["module"]): str(p["dist"]) for p in data.get("provider", [])}


@dataclass(frozen=True)
class ProviderInfo:
    """A watched provider installed in the inspected environment."""

    module: str
    dist: str
    version: str
    root: str


@dataclass(frozen=True)
class ImportIssue:
    """One import that the installed provider cannot satisfy, with the judgement inputs."""

    origin: str  # the distribution holding the file, or "project"
    origin_version: str | None
    path: str  # absolute path (or wheel!/member) of the importing file
    rel_path: str  # path inside the distribution / project, used for the role
    line: int
    module: str
    name: str | None
    kind: str  # "missing-name" | "missing-module"
    missing: str
    provider: str
    provider_version: str
    guard: str | None
    scope: str
    role: str  # "runtime" | "auxiliary"
    importer: str | None  # module name of the importing file
    import_time: bool = False  # `import <top package>` executes this file
    #: whether anything users import reaches the importing module, and how (analysis/reachability.py)
    reachable: bool = True
    reach: str = ""


@dataclass
class ImportFacts:
    """Everything GTR101/GTR102 read: providers, unresolved imports, project files, problems."""

    providers: dict[str, ProviderInfo] = field(default_factory=dict)
    issues: list[ImportIssue] = field(default_factory=list)
    project_files: list[FileAnalysis] = field(default_factory=list)
    problems: list[ProbeProblem] = field(default_factory=list)
    scanned: dict[str, str] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)
    #: "doctor" (an environment) or "scan" (`gator scan` of paths)
    origin: str = "doctor"

    def provider(self, module: str) -> ProviderInfo | None:
        return self.providers.get(module)


# -- distribution files ------------------------------------------------------------------------


def _requirement_names(dist: Distribution) -> set[str]:
    from gator_setup.names import canonicalize_name

    out: set[str] = set()
    for raw in dist.requires:
        m = _NAME.match(raw)
        if m:
            out.add(canonicalize_name(m.group(1)))
    return out


def dependents(dists: Mapping[str, Distribution], watched: Mapping[str, str]) -> list[Distribution]:
    """Installed distributions that declare a watched provider (any extra) in Requires-Dist."""
    from gator_setup.names import canonicalize_name

    wanted = {canonicalize_name(d) for d in watched.values()}
    return [d for d in sorted(dists.values(), key=lambda d: d.key) if _requirement_names(d) & wanted]


def dist_python_files(dist: Distribution) -> tuple[Path, list[str]]:
    """(site root, .py paths relative to it) of an installed distribution, from RECORD."""
    if not dist.path:
        raise OSError("no metadata folder")
    info = Path(dist.path)
    root = info.parent
    record = info / "RECORD"
    files: list[str] = []
    if record.is_file():
        text = record.read_bytes().decode("utf-8", "replace")
        for row in csv.reader(io.StringIO(text)):
            if not row:
                continue
            rel = row[0].replace("\\", "/")
            if rel.endswith(".py") and not rel.startswith(("../", "/")) and "/../" not in rel:
                files.append(rel)
        return root, files
    top = info / "top_level.txt"
    if top.is_file():
        for name in top.read_text("utf-8", "replace").split():
            base = root / name
            if base.with_suffix(".py").is_file():
                files.append(f"{name}.py")
            elif base.is_dir():
                for dirpath, _dirs, names in os.walk(base):
                    for n in names:
                        if n.endswith(".py"):
                            files.append(os.path.relpath(os.path.join(dirpath, n), root).replace(os.sep, "/"))
        return root, files
    raise OSError("no RECORD or top_level.txt in its metadata folder")


@dataclass
class DistScan:
    """The provider imports of one distribution's files (what the cache stores)."""

    files: list[FileAnalysis]
    problems: list[str]
    files_seen: int
    cached: bool = False


def _cache_file(dist: Distribution, watched: Iterable[str]) -> Path:
    tag = short_hash(",".join(sorted(watched)), 10)
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", f"{dist.key}-{dist.version}")
    return imports_cache_dir() / f"v{ANALYSIS_VERSION}-{__version__}" / f"{safe}-{tag}.json"


def imports_cache_dir() -> Path:
    """Where per-distribution import analyses live: $GATOR_IMPORTS_CACHE, else <cache>/imports.

    Entries depend only on a distribution's name + version (and gator's version), so test
    suites may share one folder across tests while keeping GATOR_CACHE_DIR private.
    """
    env = os.environ.get("GATOR_IMPORTS_CACHE")
    return Path(env).expanduser() if env else cache_root() / "imports"


def _write_atomic(path: Path, payload: Any) -> None:
    """Write via a temp file + rename: an interrupted run never leaves a half-written entry."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        import tempfile

        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs speed


def scan_distribution(dist: Distribution, watched: frozenset[str], *, use_cache: bool = True) -> DistScan:
    """Provider imports of one installed distribution (cached by name + version)."""
    cache = _cache_file(dist, watched)
    if use_cache:
        try:
            data = json.loads(cache.read_text("utf-8"))
            return DistScan(
                [FileAnalysis.from_json(f) for f in data["files"]],
                list(data["problems"]),
                int(data["files_seen"]),
                cached=True,
            )
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            pass
    root, rels = dist_python_files(dist)
    files: list[FileAnalysis] = []
    problems: list[str] = []
    jobs = [(str(root), rel, watched) for rel in rels]
    for fa, problem in _map(_analyze_dist_file, jobs):
        if problem:
            problems.append(problem)
        if fa is not None:
            files.append(fa)
    result = DistScan(files, problems, len(rels))
    if use_cache:
        _write_atomic(
            cache,
            {
                "dist": dist.name,
                "version": dist.version,
                "files_seen": result.files_seen,
                "problems": problems,
                "files": [f.to_json() for f in files],
            },
        )
    return result


def _analyze_dist_file(job: tuple[str, str, frozenset[str]]) -> tuple[FileAnalysis | None, str | None]:
    """Import candidates of one file of a distribution (regex pass; AST only later, if needed)."""
    root, rel, watched = job
    mod = module_name(rel)
    own = mod[0].split(".", 1)[0] if mod else None
    others = watched - {own} if own else watched
    try:
        data = Path(root, rel).read_bytes()
    except OSError as exc:
        return None, f"{rel}: unreadable ({exc.strerror or exc})"
    if not others or not needs_scan(data, needles_for(others)):
        return None, None
    cands = import_candidates(data, others)
    if not cands:
        return None, None
    return FileAnalysis(rel, mod[0] if mod else None, cands), None


#: Below this many files a process pool costs more than it saves.
_PARALLEL_MIN_FILES = 200


def _map(func: Any, jobs: list[Any]) -> Iterable[Any]:
    """map() over a process pool for big distributions (cold cache only), serially otherwise."""
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) < _PARALLEL_MIN_FILES or workers < 2 or os.environ.get("GATOR_NO_PARALLEL"):
        return map(func, jobs)
    try:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(func, jobs, chunksize=32))
    except (OSError, RuntimeError, ImportError):  # no fork/semaphores (sandboxes): do it here
        return map(func, jobs)


def _source_reader(root: Path, top: str):  # type: ignore[no-untyped-def]
    def read(module: str) -> tuple[bytes, bool] | None:
        if module.split(".", 1)[0] != top:
            return None
        base = root.joinpath(*module.split("."))
        for path, is_pkg in ((base / "__init__.py", True), (base.with_name(base.name + ".py"), False)):
            try:
                return path.read_bytes(), is_pkg
            except OSError:
                continue
        return None

    return read


def import_issue(
    u: Unresolved, origin: str, origin_version: str | None, path: str, rel: str, importer: str | None
) -> ImportIssue:
    """The ImportIssue of one unresolved import of a file of `origin` (a distribution or "project")."""
    return ImportIssue(
        origin=origin,
        origin_version=origin_version,
        path=path,
        rel_path=rel,
        line=u.ref.line,
        module=u.ref.module,
        name=u.ref.name,
        kind=u.kind,
        missing=u.missing,
        provider=u.provider.dist,
        provider_version=u.provider.version,
        guard=u.ref.guard,
        scope=u.ref.scope,
        role=file_role(rel),
        importer=importer,
    )


def probe_imports(
    sys_path: Iterable[str],
    dists: Mapping[str, Distribution],
    project_dir: str | None,
    *,
    paths: Iterable[str] = (),
    exclude: Iterable[str] = (),
    watched: Mapping[str, str] | None = None,
    use_cache: bool = True,
) -> ImportFacts:
    """Scan dependents of watched providers and the project; resolve against installed providers."""
    start = time.perf_counter()
    watched = dict(watched if watched is not None else watched_providers())
    providers = providers_from_env(watched, dists, sys_path)
    facts = ImportFacts(
        providers={p.module: ProviderInfo(p.module, p.dist, p.version, str(p.root)) for p in providers}
    )
    mods = frozenset(watched)
    hits = parsed = 0
    tag = providers_tag(providers)
    for dist in dependents(dists, watched):
        resolved = _load_resolved(dist, mods, tag) if use_cache else None
        if resolved is not None:
            # The verdict for this distribution against these provider versions is known.
            issues, problems = resolved
            hits += 1
        else:
            try:
                scan = scan_distribution(dist, mods, use_cache=use_cache)
                issues = _dist_issues(dist, scan, providers, mods, use_cache)
            except Exception as exc:  # one broken distribution must not sink the probe
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                facts.problems.append(
                    ProbeProblem("imports", dist.path or dist.name, f"cannot scan: {reason}")
                )
                continue
            problems = scan.problems
            hits += scan.cached
            parsed += 0 if scan.cached else 1
        facts.scanned[dist.name] = dist.version
        facts.issues.extend(issues)
        if problems:
            facts.problems.append(
                ProbeProblem(
                    "imports",
                    f"{dist.name} {dist.version}",
                    f"{len(problems)} file(s) not analysed, e.g. {problems[0]}",
                )
            )
    if project_dir:
        _scan_project(facts, providers, Path(project_dir), paths, exclude, mods)
        facts.issues = _reached_by_project(facts)
    facts.stats = {
        "seconds": round(time.perf_counter() - start, 4),
        "distributions": len(facts.scanned),
        "cache_hits": hits,
        "parsed": parsed,
    }
    return facts


def _parse_dist_file(root: Path, fa: FileAnalysis, watched: frozenset[str]) -> FileAnalysis:
    """The AST analysis of one installed file (imports only)."""
    mod = module_name(fa.path)
    try:
        data = (root / fa.path).read_bytes()
    except OSError as exc:
        out = FileAnalysis(fa.path, fa.module)
        from gator_setup.analysis.model import SourceProblem

        out.problem = SourceProblem(fa.path, f"unreadable ({exc.strerror or exc})")
        return out
    return analyze_source(
        data, fa.path, module=fa.module, is_package=bool(mod and mod[1]), watched=watched, calls=False
    )


def providers_tag(providers: Providers) -> str:
    spec = ",".join(f"{p.module}={p.dist}:{p.version}" for p in sorted(providers, key=lambda p: p.module))
    return short_hash(spec, 12)


def _dist_issues(
    dist: Distribution, scan: DistScan, providers: Providers, mods: frozenset[str], use_cache: bool
) -> list[ImportIssue]:
    """Unresolved imports of one distribution, cached by its name+version and the provider versions.

    Resolution reads provider sources; caching its outcome makes a warm run parse nothing at all.
    """
    root = Path(dist.path).parent if dist.path else Path()
    cache = _resolved_file(dist, mods, providers_tag(providers))
    issues: list[ImportIssue] = []
    problems: list[str] = []
    for fa in scan.files:
        own = fa.module.split(".", 1)[0] if fa.module else None
        if not any(providers.resolve(c) is not None for c in fa.imports if c.top != own):
            continue
        # A candidate fails: now the AST decides (guards, scope, strings and comments).
        precise = _parse_dist_file(root, fa, mods - {own} if own else mods)
        if precise.problem is not None:
            problems.append(f"{fa.path}: {precise.problem.message}")
        for ref in precise.imports:
            u = providers.resolve(ref)
            if u is not None:
                issues.append(
                    import_issue(u, dist.name, dist.version, str(root / fa.path), fa.path, fa.module)
                )
    scan.problems.extend(problems)
    issues = _mark_import_time(issues, root)
    issues = mark_reach(issues, dist, root)
    if use_cache:
        from dataclasses import asdict

        _write_atomic(cache, {"issues": [asdict(i) for i in issues], "problems": scan.problems})
    return issues


def _resolved_file(dist: Distribution, mods: frozenset[str], tag: str) -> Path:
    return _cache_file(dist, mods).with_suffix(f".{tag}.resolved.json")


def _load_resolved(
    dist: Distribution, mods: frozenset[str], tag: str
) -> tuple[list[ImportIssue], list[str]] | None:
    """Cached issues + problems of `dist` against the providers tagged `tag`, or None."""
    root = Path(dist.path).parent if dist.path else Path()
    try:
        data = json.loads(_resolved_file(dist, mods, tag).read_text("utf-8"))
        issues = [ImportIssue(**{**r, "path": str(root / r["rel_path"])}) for r in data["issues"]]
        return issues, [str(p) for p in data["problems"]]
    except (OSError, ValueError, TypeError, KeyError):
        return None


def mark_reach(issues: list[ImportIssue], dist: Distribution, root: Path) -> list[ImportIssue]:
    """Set reachable/reach on issues in modules that `import <package>` does not run."""
    from dataclasses import replace

    from gator_setup.analysis.reachability import PackageIndex, reach_for

    todo = {i.importer for i in issues if i.importer and i.role == "runtime" and not i.import_time}
    if not todo or not dist.path:
        return issues
    _root, rels = dist_python_files(dist)
    reach = reach_for(PackageIndex(root, rels), sorted(todo), Path(dist.path))
    out = []
    for i in issues:
        r = reach.get(i.importer or "")
        out.append(replace(i, reachable=r.reachable, reach=r.how) if r is not None else i)
    return out


def _reached_by_project(facts: ImportFacts) -> list[ImportIssue]:
    """Issues in modules no library import reaches, made reachable where the project imports them."""
    from dataclasses import replace

    if all(i.reachable for i in facts.issues):
        return facts.issues
    imported: dict[str, str] = {}
    for fa in facts.project_files:
        for ref in fa.imports:
            for mod in (ref.module, f"{ref.module}.{ref.name}" if ref.name else ref.module):
                imported.setdefault(mod, f"{fa.path}:{ref.line}")
    return [
        replace(i, reachable=True, reach=f"reached: the project imports it ({imported[i.importer]})")
        if not i.reachable and i.importer in imported
        else i
        for i in facts.issues
    ]


def _mark_import_time(issues: list[ImportIssue], root: Path) -> list[ImportIssue]:
    """Set import_time on issues whose file `import <package>` executes (graph built only if needed)."""
    from dataclasses import replace

    graphs: dict[str, set[str]] = {}
    out = []
    for i in issues:
        if i.importer and i.role == "runtime" and i.guard is None and i.scope == "module":
            top = i.importer.split(".", 1)[0]
            if top not in graphs:
                graphs[top] = import_time_modules(top, _source_reader(root, top))
            i = replace(i, import_time=i.importer in graphs[top])
        out.append(i)
    return out


def tree_cache_file(path: Path, providers: Providers, exclude: Iterable[str], *, purpose: str) -> Path | None:
    """Per-tree cache of per-file results, valid for these provider versions, this gator and `purpose`."""
    from gator_setup import __version__

    if not path.is_dir():
        return None
    parts = [purpose, str(path.resolve()), providers_tag(providers), ANALYSIS_VERSION, __version__, *exclude]
    return cache_root() / "scan" / f"{short_hash(chr(0).join(parts), 24)}.json"


def scan_layout_dir() -> Path:
    """Where `gator scan` caches which installed distribution owns each top-level entry of a
    site-packages (from RECORD files; independent of the providers)."""
    return cache_root() / "scan" / "layout"


def _scan_project(
    facts: ImportFacts,
    providers: Providers,
    project: Path,
    paths: Iterable[str],
    exclude: Iterable[str],
    mods: frozenset[str],
) -> None:
    roots = [project / p for p in paths] or [project]
    for root in roots:
        if not root.exists():
            facts.problems.append(
                ProbeProblem("imports", str(root), "project path in [tool.gator] paths does not exist")
            )
            continue
        # A project's files change between runs, so the per-file cache is keyed by size and mtime.
        cache = tree_cache_file(root, providers, exclude, purpose="doctor-project")
        res = scan_tree(
            root, providers, exclude=exclude, watched=mods, max_files=MAX_PROJECT_FILES, cache_file=cache
        )
        if res.truncated:
            facts.problems.append(
                ProbeProblem(
                    "imports",
                    str(root),
                    f"project scan stopped after {MAX_PROJECT_FILES} Python files; "
                    "set [tool.gator] paths to your source folders",
                )
            )
        facts.project_files.extend(res.files)
        for p in res.problems:
            facts.problems.append(
                ProbeProblem("imports", p.path + (f":{p.line}" if p.line else ""), p.message)
            )
        for si in res.issues:
            rel = os.path.relpath(si.file.path, root) if root.is_dir() else Path(si.file.path).name
            facts.issues.append(
                import_issue(si.unresolved, "project", None, si.file.path, rel, si.file.module)
            )
