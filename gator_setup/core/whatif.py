"""`gator doctor --what-if`: what a proposed install would break, found without installing it.

The resolver's dry run (uv) says which distributions would change; the wheels of the new versions
are fetched into gator's cache (offline when cached); a hypothetical snapshot with the new versions
and their declared requirements is checked for declared conflicts (GTR100) and knowledge-base rules
(GTR110); every package that imports a changed provider, or that itself changes, is analysed
against the provider's new exports (GTR111); downgrades are reported (GTR112). Only problems the
change would introduce are reported; the environment is never modified.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gator_setup.checks.base import Finding, Severity
from gator_setup.checks.registry import command_result
from gator_setup.checks.runner import CheckResult
from gator_setup.errors import UsageError
from gator_setup.probes.resolver import Change
from gator_setup.report.model import Report
from gator_setup.snapshot import Distribution, EnvSnapshot

if TYPE_CHECKING:
    from gator_setup.analysis.sites import ImportSite, SourceMap
    from gator_setup.knowledge.builder import ProviderRelease, WheelCache

IMPORTS_CODE = "GTR111"
DOWNGRADE_CODE = "GTR112"
#: Pure-Python providers whose exports can be read statically from a wheel.
WATCHED = ("huggingface_hub", "transformers", "diffusers", "accelerate", "peft")
#: Distributions whose new wheel is fetched (small, pure Python, and they import the providers).
#: Others (torch: gigabytes) keep their installed requirements for the conflict check.
FETCHED = frozenset(
    canonicalize_name(n)
    for n in (*WATCHED, "sentence-transformers", "optimum", "timm", "datasets", "gradio", "safetensors")
)

Resolver = Callable[[str, list[str]], list[Change]]


@dataclass(frozen=True)
class WhatIfOptions:
    """The proposed requirements and the environment they would be installed into."""

    changes: tuple[str, ...]
    python: str | None = None
    project_dir: str | None = "."
    offline: bool = False


def wheel_cache_dir() -> Path:
    """Where fetched wheels live (under GATOR_CACHE_DIR or the user cache dir)."""
    base = os.environ.get("GATOR_CACHE_DIR")
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("gator")
    return Path(base) / "wheels"


def _top_module(names: Iterable[str], dist: str) -> str:
    """The package a distribution installs (its canonical name with underscores, if present)."""
    tops = {n.split(".", 1)[0] for n in names}
    guess = canonicalize_name(dist).replace("-", "_")
    return guess if guess in tops or not tops else sorted(tops)[0]


@dataclass
class _Side:
    """One side (before or after) of the change: versions, consumers' sources, providers' roots."""

    dists: Mapping[str, Distribution]
    wheels: Mapping[str, Path]  # canonical name -> wheel of the new version (after side only)

    def sources(self, name: str) -> tuple[SourceMap, str] | None:
        from gator_setup.analysis.sites import tree_sources, wheel_sources
        from gator_setup.probes.imports import dist_python_files

        if name in self.wheels:
            src = wheel_sources(self.wheels[name])
        else:
            d = self.dists.get(name)
            if d is None or not d.path:
                return None
            try:  # the files the doctor analyses of an installed distribution (RECORD)
                src = tree_sources(*dist_python_files(d))
            except OSError:
                return None
        return src, _top_module(src, name)

    def provider_root(self, module: str, cache: WheelCache) -> tuple[str, Path] | None:
        key = canonicalize_name(module)
        d = self.dists.get(key)
        if d is None:
            return None
        if key in self.wheels:
            return d.version, cache.unpacked(self.wheels[key])
        return (d.version, Path(d.path).parent) if d.path else None


SiteMemo: TypeAlias = "dict[tuple[str, str], tuple[list[ImportSite], str]]"


#: Within one process the same wheel or installed tree always gives the same sites and exports, and
#: the fix search (core/fixsearch.py) runs several what-ifs on one environment: parse each once.
_SITE_MEMO: SiteMemo = {}


@lru_cache(maxsize=64)
def _release(version: str, path: Path) -> ProviderRelease:
    from gator_setup.knowledge.builder import ProviderRelease

    return ProviderRelease(Version(version), path)


def _sites(side: _Side, consumer: str, memo: SiteMemo) -> tuple[list[ImportSite], str] | None:
    """Import sites of watched providers in `consumer` on `side`, parsed once per source."""
    from gator_setup.analysis.sites import import_sites

    origin = str(side.wheels[consumer]) if consumer in side.wheels else str(side.dists[consumer].path)
    key = (consumer, origin)
    if key not in memo:
        got = side.sources(consumer)
        if got is None:
            return None
        sources, top = got
        modules = [m for m in WATCHED if canonicalize_name(m) != consumer]
        memo[key] = (import_sites(sources, top, modules), top)
    return memo[key]


def _broken_imports(
    side: _Side, consumer: str, cache: WheelCache, memo: SiteMemo
) -> dict[tuple[str, str | None], Finding]:
    """Unguarded run-time imports of watched providers by `consumer` that do not resolve on `side`."""
    got = _sites(side, consumer, memo)
    if got is None:
        return {}
    all_sites, top = got
    out: dict[tuple[str, str | None], Finding] = {}
    dist = side.dists[consumer]
    for module in WATCHED:
        sites = [s for s in all_sites if s.module.split(".")[0] == module]
        if not sites:
            continue
        root = side.provider_root(module, cache)
        if root is None:
            continue
        version, path = root
        try:
            release = _release(version, path)
        except InvalidVersion:
            continue
        for s in sites:
            if (s.module, s.name) in out or release.provides(s.module, s.name):
                continue
            what = f"'{s.name}' from {s.module}" if s.name else f"module {s.module}"
            fails_at = f"import {top}" if s.import_time else f"import {s.consumer_module}"
            out[(s.module, s.name)] = Finding(
                code=IMPORTS_CODE,
                severity=Severity.ERROR if s.import_time else Severity.WARNING,
                message=f"{dist.name} {dist.version} would break: `{fails_at}` imports {what}, "
                f"which {module} {version} does not provide ({s.file}:{s.line})",
                packages=(dist.name, module),
                evidence={
                    "import_site": f"{s.file}:{s.line}",
                    "import_time": str(s.import_time),
                    "cause": f"missing:{canonicalize_name(module)}:{s.module}"
                    + (f".{s.name}" if s.name else ""),
                },
            )
    return out


def after_distributions(
    snapshot: EnvSnapshot, changes: Iterable[Change], cache: WheelCache
) -> tuple[dict[str, Distribution], dict[str, Path], list[str]]:
    """The distributions after `changes`, the fetched wheels of the new versions, and notes."""
    from gator_setup.knowledge.builder import wheel_requires

    notes: list[str] = []
    wheels: dict[str, Path] = {}
    after = dict(snapshot.distributions)
    for c in changes:
        if c.new is None:
            after.pop(c.name, None)
            continue
        w = cache.wheel(c.name, Version(c.new)) if c.name in FETCHED else None
        if w is None:
            notes.append(f"{c.name} {c.new}: wheel not fetched; its installed requirements were assumed.")
        else:
            wheels[c.name] = w
        old = snapshot.distributions.get(c.name)
        after[c.name] = Distribution(
            name=old.name if old else c.name,
            version=c.new,
            requires=wheel_requires(w) if w is not None else (old.requires if old else ()),
            path=None,
        )
    return after, wheels, notes


def numpy_abi_breaks(snapshot: EnvSnapshot, changes: Iterable[Change], cache: WheelCache) -> list[Finding]:
    """Binaries built against numpy 1.x that a move to numpy >= 2 would break (installed files, or
    the new wheel of a package the change installs that requires numpy)."""
    from gator_setup.analysis.numpy_abi import wheel_numpy_major
    from gator_setup.probes.numpy_abi import builds_of

    moved = {c.name: c for c in changes}
    numpy = moved.get("numpy")
    new_numpy = numpy.new if numpy is not None else (snapshot.dist("numpy") or Distribution("n", "0")).version
    try:
        if Version(new_numpy or "0").major < 2:
            return []
    except InvalidVersion:
        return []
    out: list[Finding] = []
    for d in sorted(snapshot.distributions.values(), key=lambda d: d.key):
        c = moved.get(d.key)
        if d.key == "numpy" or (c is not None and c.new is None):
            continue
        if c is None:
            if numpy is None:
                continue  # nothing about this package or numpy changes: the doctor's GTR103 covers it
            old = [b for b in builds_of(d) if b.numpy_major < 2]
            if old:
                out.append(_abi_finding(d.name, d.version, str(new_numpy), old[0].rel_path))
    for c in moved.values():
        if c.new is None or c.name == "numpy":
            continue
        requires = snapshot.distributions.get(c.name)
        if requires is not None and not any(r.lower().startswith("numpy") for r in requires.requires):
            continue
        try:
            wheel = cache.wheel(c.name, Version(c.new)) if requires is not None else None
        except Exception:
            wheel = None
        if wheel is not None and (wheel_numpy_major(wheel) or 2) < 2:
            out.append(_abi_finding(c.name, c.new, str(new_numpy), wheel.name))
    return out


def _abi_finding(dist: str, version: str, numpy: str, where: str) -> Finding:
    return Finding(
        IMPORTS_CODE,
        Severity.ERROR,
        f"{dist} {version} would break: its binaries were built against numpy 1.x ({where}) and the "
        f"change brings numpy {numpy} (numpy.core.multiarray failed to import / numpy.dtype size changed)",
        fix=f'add "numpy<2" to the change, or a {dist} release built against numpy 2',
        packages=(dist, "numpy"),
        evidence={"cause": f"numpy-abi:{canonicalize_name(dist)}"},
    )


def _new_findings(before: list[Finding], after: list[Finding]) -> list[Finding]:
    seen = {(f.code, f.message) for f in before}
    return [f for f in after if (f.code, f.message) not in seen]


def run_what_if(
    opts: WhatIfOptions,
    *,
    resolver: Resolver | None = None,
    snapshot: EnvSnapshot | None = None,
) -> Report:
    """Resolve the proposed change, fetch what it would install, and report what it would break."""
    from gator_setup.checks.known_issues import KnownBadCombinations
    from gator_setup.checks.requirements import DeclaredRequirements
    from gator_setup.knowledge.builder import WheelCache

    for raw in opts.changes:
        try:
            Requirement(raw)
        except InvalidRequirement as exc:
            raise UsageError(f"--what-if {raw!r} is not a requirement: {str(exc).splitlines()[0]}") from None
    if snapshot is None:
        from gator_setup.probes.python_env import current_interpreter, query_interpreter, read_distributions

        interp = query_interpreter(opts.python) if opts.python else current_interpreter()
        dists, problems = read_distributions(interp.sys_path)
        snapshot = EnvSnapshot(interpreter=interp, distributions=dists, problems=tuple(problems))
    if resolver is None:
        from gator_setup.probes.resolver import dry_run

        resolver = dry_run
    changes = resolver(snapshot.interpreter.executable, list(opts.changes))
    py = ".".join(snapshot.interpreter.version.split(".")[:2])
    cache = WheelCache(wheel_cache_dir(), offline=opts.offline, python_version=py)
    notes = ["Nothing was installed: versions come from the resolver's dry run, code from cached wheels."]
    after, wheels, fetched_notes = after_distributions(snapshot, changes, cache)
    notes += fetched_notes
    after_snap = replace(snapshot, distributions=after)
    results: list[CheckResult] = []
    for check in (DeclaredRequirements(), KnownBadCombinations()):
        found = _new_findings(list(check.run(snapshot)), list(check.run(after_snap)))
        found = [replace(f, message=f"after the change: {f.message}") for f in found]
        results.append(CheckResult(check.code, check.title, check.category, found))

    changed = {c.name for c in changes}
    watched = {canonicalize_name(m) for m in WATCHED}
    consumers = set(changed)
    for d in after.values():
        for raw in d.requires:
            try:
                req_name = canonicalize_name(Requirement(raw).name)
            except InvalidRequirement:
                continue
            if req_name in changed and req_name in watched:
                consumers.add(d.key)
    before_side = _Side(snapshot.distributions, {})
    after_side = _Side(after, wheels)
    import_findings: list[Finding] = []
    memo = _SITE_MEMO
    for name in sorted(consumers):
        if name not in after:
            continue
        broken_after = _broken_imports(after_side, name, cache, memo)
        if not broken_after:
            continue
        broken_before = (
            _broken_imports(before_side, name, cache, memo) if name in snapshot.distributions else {}
        )
        import_findings += [f for key, f in broken_after.items() if key not in broken_before]
    import_findings += numpy_abi_breaks(snapshot, changes, cache)
    results.append(command_result(IMPORTS_CODE, import_findings))
    downgrades = []
    for c in changes:
        if c.old and c.new:
            try:
                if Version(c.new) < Version(c.old):
                    downgrades.append(
                        Finding(
                            DOWNGRADE_CODE,
                            Severity.WARNING,
                            f"{c.name} would be downgraded {c.old} -> {c.new}",
                            fix=f"add `{c.name}>={c.old}` to the what-if to see why the resolver moves it",
                            packages=(c.name,),
                        )
                    )
            except InvalidVersion:
                continue
    results.append(command_result(DOWNGRADE_CODE, downgrades))
    summary = (
        ", ".join(f"{c.name} {c.old or '(new)'} -> {c.new or '(removed)'}" for c in changes) or "nothing"
    )
    from gator_setup.core.causes import group_by_cause

    group_by_cause(results)
    interp = snapshot.interpreter
    return Report(
        command="doctor --what-if",
        results=results,
        context={
            "headline": f"gator doctor --what-if {' '.join(opts.changes)} · Python {interp.version} "
            f"({interp.executable}) · would change: {summary}",
            "what_if": list(opts.changes),
            "changes": [{"name": c.name, "old": c.old, "new": c.new} for c in changes],
            "interpreter": {"executable": interp.executable, "version": interp.version},
        },
        notes=notes,
    )
