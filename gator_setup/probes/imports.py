"""Import facts: what installed packages and the project import from watched providers.

An adapter over the analysis engine (`analysis.scan`): it finds the installed distributions that
declare a watched provider in Requires-Dist, hands the Python files their RECORD lists to the
engine (the triage, parse, verdicts and worker processes of `gator scan`), and turns what does
not resolve against the installed providers (read statically, never imported) into ImportIssues.
The verdict per distribution is cached, keyed by its name + version, the providers' versions and
gator's version, so a second run parses nothing. The project is scanned with `scan_tree`.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gator_setup import __version__
from gator_setup.analysis.providers import Providers, Unresolved, providers_from_env
from gator_setup.analysis.runtime import file_role, import_time_modules
from gator_setup.analysis.scan import FileQuestion, FileResult, analyze_files, scan_tree
from gator_setup.cachedir import cache_root, dist_stem, write_cache_json
from gator_setup.envfacts import Distribution, ProbeProblem, record_paths
from gator_setup.shorthash import short_hash

if TYPE_CHECKING:
    from gator_setup.analysis.model import FileAnalysis

#: Bumped whenever the extraction changes what it records, so old cache entries are ignored.
ANALYSIS_VERSION = "7"
#: A project bigger than this is probably a home folder, not a project: stop and say so.
MAX_PROJECT_FILES = 20000
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
#: Each asked distribution's (file, answer) pairs in RECORD order, or why it could not be read.
Answers = dict[str, "list[tuple[str, Any]] | str"]


@lru_cache(maxsize=1)
def watched_providers() -> dict[str, str]:
    """module -> distribution name of every watched provider (knowledge/watched_providers.toml)."""
    from gator_setup.tomlread import load_toml

    data = load_toml(Path(__file__).resolve().parent.parent / "knowledge" / "watched_providers.toml")
    return {str(p["module"]): str(p["dist"]) for p in data.get("provider", [])}


class ProviderInfo(NamedTuple):
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
    #: the answers to another probe's question (probe_imports' `question`), by distribution key
    answers: Answers = field(default_factory=dict)

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
        for path in record_paths(record.read_bytes().decode("utf-8", "replace")):
            if path.endswith(".py"):  # (asked first: most rows are not Python files)
                rel = path.replace("\\", "/")
                if not rel.startswith(("../", "/")) and "/../" not in rel:
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


def imports_cache_dir() -> Path:
    """Where per-distribution import verdicts live: $GATOR_IMPORTS_CACHE, else <cache>/imports.

    Entries depend only on a distribution's name + version, the providers' versions and gator's
    version, so test suites may share one folder across tests while keeping GATOR_CACHE_DIR private.
    """
    env = os.environ.get("GATOR_IMPORTS_CACHE")
    return Path(env).expanduser() if env else cache_root() / "imports"


class DistRecord(NamedTuple):
    """The verdict on one installed distribution against one set of provider versions: its
    unresolved imports and the files that could not be analysed (what the cache keeps)."""

    issues: list[ImportIssue]
    problems: list[str]

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"issues": [asdict(i) for i in self.issues], "problems": list(self.problems)}

    @classmethod
    def from_json(cls, data: Any, root: Path) -> DistRecord:
        """The record as `to_json` wrote it, its paths under `root` (raises on a damaged entry)."""
        issues = [ImportIssue(**{**r, "path": str(root / r["rel_path"])}) for r in data["issues"]]
        return cls(issues, [str(p) for p in data["problems"]])


def _record_file(dist: Distribution, watched: Iterable[str], tag: str) -> Path:
    mods = short_hash(",".join(sorted(watched)), 10)
    return (
        imports_cache_dir()
        / f"v{ANALYSIS_VERSION}-{__version__}"
        / f"{dist_stem(dist.key, dist.version)}-{mods}.{tag}.json"
    )


def _load_record(dist: Distribution, watched: Iterable[str], tag: str) -> DistRecord | None:
    """The cached record of `dist` against the providers tagged `tag`, or None."""
    root = Path(dist.path).parent if dist.path else Path()
    try:
        return DistRecord.from_json(json.loads(_record_file(dist, watched, tag).read_text("utf-8")), root)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def analyze_distributions(
    dists: Iterable[Distribution],
    providers: Providers,
    watched: frozenset[str],
    workers: int | None = None,
    *,
    question: FileQuestion | None = None,
    ask_of: Iterable[Distribution] = (),
) -> tuple[dict[str, DistRecord | str], Answers]:
    """Each distribution's record (or why it could not be analysed) by key, and the answers to
    `question` (asked of every file read) of the `ask_of` distributions' files.

    The files of all of them go through the analysis engine together, one call per packages
    folder (`analysis.scan.analyze_files`: the triage, parse, verdicts and executor of `gator
    scan`), so a cold run spreads its files over the same worker processes; a file listed by
    several distributions is read once, and the files of `ask_of` that are not among them are
    read for the question alone.
    """
    out: dict[str, DistRecord | str] = {}
    answers: Answers = {}
    failed: dict[str, str] = {}  # key -> why its files could not be listed or analysed
    listed: dict[str, tuple[Path, list[str]]] = {}
    analysed = {d.key: d for d in dists}
    asked = {d.key: d for d in ask_of} if question is not None else {}
    # packages folder -> rel -> (path, imports analysed?)
    folders: dict[Path, dict[str, tuple[str, bool]]] = {}
    # the analysed distributions first: a file they list gets the import analysis
    for key, dist in [*analysed.items(), *((k, d) for k, d in asked.items() if k not in analysed)]:
        try:
            root, rels = dist_python_files(dist)
        except OSError as exc:
            failed[key] = exc.strerror or str(exc)
            continue
        listed[key] = (root, rels)
        files = folders.setdefault(root, {})
        # (a Path per file cost more than reading most of them; rel is relative, base has no
        # trailing slash unless it is "/": what os.path.join gives, without its checks)
        base, imports = str(root).rstrip("/") + "/", key in analysed
        for rel in rels:
            files.setdefault(rel, (base + rel, imports))
    results: dict[Path, dict[str, FileResult] | str] = {}
    for root, files in folders.items():
        try:
            results[root] = analyze_files(
                [(path, rel) for rel, (path, imports) in files.items() if imports],
                providers,
                watched=watched,
                deep_needles=(),
                workers=workers,
                question=question,
                asked_only=[(path, rel) for rel, (path, imports) in files.items() if not imports],
            )
        except Exception as exc:  # one broken folder must not sink the probe
            results[root] = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    for key, (root, rels) in listed.items():
        got = results[root]
        if isinstance(got, str):
            failed[key] = got
            continue
        if key in asked:
            answers[key] = [(r, got[r].answer) for r in rels if got[r].answer is not None]
        if key in analysed:
            out[key] = _record(analysed[key], root, rels, got)
    out.update({key: why for key, why in failed.items() if key in analysed})
    answers.update({key: why for key, why in failed.items() if key in asked})
    return out, answers


def _record(dist: Distribution, root: Path, rels: list[str], got: Mapping[str, FileResult]) -> DistRecord:
    """A distribution's record from the results of its files, in RECORD order."""
    issues: list[ImportIssue] = []
    unreadable: list[str] = []
    unparsed: list[str] = []
    for rel in rels:
        res = got[rel]
        if res.error is not None:
            unreadable.append(f"{rel}: {res.error}")
            continue
        fa = res.analysis
        if fa is None:
            continue
        if fa.problem is not None:
            unparsed.append(f"{rel}: {fa.problem.message}")
        path = str(root / rel)
        issues += [
            import_issue(i.unresolved, dist.name, dist.version, path, rel, fa.module) for i in res.issues
        ]
    return DistRecord(mark_reach(_mark_import_time(issues, root), dist, root), unreadable + unparsed)


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
    workers: int | None = None,
    question: FileQuestion | None = None,
    ask_of: Iterable[Distribution] = (),
) -> ImportFacts:
    """Scan dependents of watched providers and the project; resolve against installed providers.
    `workers`: processes of the analysis, this one included (None: one per CPU; 1: serial).
    `question` is asked of the files of `ask_of` in the same pass (facts.answers), whether or not
    their imports are cached."""
    start = time.perf_counter()
    watched = dict(watched if watched is not None else watched_providers())
    providers = providers_from_env(watched, dists, sys_path)
    facts = ImportFacts(
        providers={p.module: ProviderInfo(p.module, p.dist, p.version, str(p.root)) for p in providers}
    )
    mods = frozenset(watched)
    tag = providers_tag(providers)
    todo = dependents(dists, watched)
    # The verdict on a distribution against these provider versions is cached: a warm run reads
    # one small file per dependent and parses nothing.
    records: dict[str, DistRecord | str | None] = {
        d.key: _load_record(d, mods, tag) if use_cache else None for d in todo
    }
    hits = sum(1 for r in records.values() if r is not None)
    misses = [d for d in todo if records[d.key] is None]
    fresh, facts.answers = analyze_distributions(
        misses, providers, mods, workers, question=question, ask_of=ask_of
    )
    for dist in todo:
        record = records[dist.key] or fresh[dist.key]
        if isinstance(record, str):
            facts.problems.append(ProbeProblem("imports", dist.path or dist.name, f"cannot scan: {record}"))
            continue
        if use_cache and dist.key in fresh:
            write_cache_json(_record_file(dist, mods, tag), record.to_json())
        facts.scanned[dist.name] = dist.version
        facts.issues.extend(record.issues)
        if record.problems:
            facts.problems.append(
                ProbeProblem(
                    "imports",
                    f"{dist.name} {dist.version}",
                    f"{len(record.problems)} file(s) not analysed, e.g. {record.problems[0]}",
                )
            )
    if project_dir:
        _scan_project(facts, providers, Path(project_dir), paths, exclude, mods, workers)
        facts.issues = _reached_by_project(facts)
    facts.stats = {
        "seconds": round(time.perf_counter() - start, 4),
        "distributions": len(facts.scanned),
        "cache_hits": hits,
        "parsed": len(fresh),
    }
    return facts


def providers_tag(providers: Providers) -> str:
    spec = ",".join(f"{p.module}={p.dist}:{p.version}" for p in sorted(providers, key=lambda p: p.module))
    return short_hash(spec, 12)


def mark_reach(issues: list[ImportIssue], dist: Distribution, root: Path) -> list[ImportIssue]:
    """Set reachable/reach on issues in modules that `import <package>` does not run."""
    todo = {i.importer for i in issues if i.importer and i.role == "runtime" and not i.import_time}
    if not todo or not dist.path:
        return issues
    from dataclasses import replace

    from gator_setup.analysis.reachability import PackageIndex, reach_for

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
    workers: int | None = None,
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
            root,
            providers,
            exclude=exclude,
            watched=mods,
            max_files=MAX_PROJECT_FILES,
            cache_file=cache,
            workers=workers,
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
