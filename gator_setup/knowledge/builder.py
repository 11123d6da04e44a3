"""Build rules from released wheels: what consumers import from a provider vs what each release exports.

For every selected release of a provider (huggingface_hub) and of each consumer (diffusers,
transformers...), the wheels are downloaded once into a cache (`pip download --no-deps
--only-binary=:all:`), the consumer's unguarded, module-level imports in run-time files are
extracted with the AST analyzer (gator_setup.analysis), and resolved against each provider
release's static exports. Where a consumer release imports a name some provider release lacks,
the boundaries are bisected over every released version in between, and a rule with its
provenance is written. tools/build_kb.py is the command line; docs/knowledge.md says how to refresh.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gator_setup.errors import GatorError, InputError

if TYPE_CHECKING:
    from gator_setup.analysis.sites import ImportSite


class BuildError(GatorError):
    """The builder cannot get what it needs (offline without a cached wheel, pip failed)."""


@dataclass(frozen=True)
class Source:
    """A package to scan: distribution, import name, and which releases to take."""

    dist: str
    module: str
    since: str
    until: str | None = None
    step: int = 1
    #: Versions scanned regardless of the selection (known boundaries, popular pins).
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sources:
    provider: Source
    consumers: tuple[Source, ...]


def load_sources(path: Path) -> Sources:
    """Read tools/kb_sources.toml."""
    from gator_setup.tomlread import load_toml

    data = load_toml(path)

    def one(name: str, d: Any) -> Source:
        if not isinstance(d, dict) or "since" not in d:
            raise InputError(path, f'{name}: needs at least `since = "VERSION"`')
        return Source(
            dist=name,
            module=str(d.get("module", name.replace("-", "_"))),
            since=str(d["since"]),
            until=d.get("until"),
            step=int(d.get("step", 1)),
            extra=tuple(str(v) for v in d.get("extra", [])),
        )

    prov = data.get("provider", {})
    if len(prov) != 1:
        raise InputError(path, "exactly one [provider.NAME] table is supported")
    ((pname, pdata),) = prov.items()
    consumers = tuple(one(n, d) for n, d in data.get("consumers", {}).items())
    return Sources(one(pname, pdata), consumers)


def select_versions(available: Iterable[Version], src: Source) -> list[Version]:
    """The latest final release of every minor in [since, until], every `step`-th minor, plus extras."""
    lo = Version(src.since)
    hi = Version(src.until) if src.until else None
    latest: dict[tuple[int, int], Version] = {}
    for v in available:
        if v.is_prerelease or v.is_devrelease or v < lo or (hi is not None and v > hi):
            continue
        key = (v.major, v.minor)
        if key not in latest or v > latest[key]:
            latest[key] = v
    minors = sorted(latest)
    chosen = {latest[m] for i, m in enumerate(minors) if i % src.step == 0 or i == len(minors) - 1}
    chosen |= {Version(e) for e in src.extra}
    return sorted(chosen)


def pip_command() -> list[str]:
    """How to run pip: this interpreter's, else the first pip on PATH (uv venvs have none)."""
    import importlib.util

    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            return [found]
    raise BuildError("pip is needed to download wheels: install it (python -m ensurepip) or use --offline")


class WheelCache:
    """Wheels and version lists on disk; downloads only what is missing (never with offline=True)."""

    def __init__(
        self,
        root: Path,
        *,
        offline: bool = False,
        log: Callable[[str], None] | None = None,
        python_version: str = "3.11",
    ):
        self.root = Path(root)
        self.python_version = python_version
        self.offline = offline
        self.log = log or (lambda msg: None)
        self.downloads = 0

    def versions(self, dist: str) -> list[Version]:
        """Every released version of `dist` (cached as JSON; `pip index versions` when online)."""
        path = self.root / "index" / f"{canonicalize_name(dist)}.json"
        if path.exists():
            return [Version(v) for v in json.loads(path.read_text())]
        if self.offline:
            # Offline without an index: the cached wheels are all we know.
            return sorted({v for d, v in self._cached_wheels() if d == canonicalize_name(dist)})
        r = subprocess.run(
            [*pip_command(), "index", "versions", "--pre", dist],
            capture_output=True,
            text=True,
            timeout=120,
        )
        line = next((ln for ln in r.stdout.splitlines() if ln.startswith("Available versions:")), None)
        if r.returncode or line is None:
            raise BuildError(f"cannot list versions of {dist}: {r.stderr.strip()[-200:]}")
        out: list[Version] = []
        for raw in line.split(":", 1)[1].split(","):
            try:
                out.append(Version(raw.strip()))
            except InvalidVersion:
                continue
        self._write(path, json.dumps(sorted(str(v) for v in out)))
        return sorted(out)

    def _cached_wheels(self) -> list[tuple[str, Version]]:
        out: list[tuple[str, Version]] = []
        for p in (self.root / "wheels").glob("*.whl"):
            parts = p.name.split("-")
            try:
                out.append((canonicalize_name(parts[0]), Version(parts[1])))
            except (IndexError, InvalidVersion):
                continue
        return out

    def _write(self, path: Path, text: str) -> None:
        # Write to a temp file then rename: an interrupted run never leaves a truncated file.
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)

    def wheel(self, dist: str, version: Version) -> Path | None:
        """The cached wheel of dist==version, downloading it if needed; None if no wheel exists."""
        wheels = self.root / "wheels"
        for d, v in self._cached_wheels():
            if d == canonicalize_name(dist) and v == version:
                return next(
                    p
                    for p in wheels.glob("*.whl")
                    if canonicalize_name(p.name.split("-")[0]) == d and Version(p.name.split("-")[1]) == v
                )
        missing = self.root / "missing" / f"{canonicalize_name(dist)}-{version}"
        if missing.exists():
            return None
        if self.offline:
            raise BuildError(f"offline and {dist}=={version} is not in the cache {wheels}")
        wheels.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.root) as tmp:
            r = subprocess.run(
                [
                    *pip_command(),
                    "download",
                    "-q",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--python-version",
                    self.python_version,
                    "-d",
                    tmp,
                    f"{dist}=={version}",
                ],
                capture_output=True,
                text=True,
                timeout=600,
            )
            got = list(Path(tmp).glob("*.whl"))
            if r.returncode or not got:
                self.log(f"  no wheel for {dist}=={version}; skipped")
                self._write(missing, r.stderr[-500:])
                return None
            target = wheels / got[0].name
            os.replace(got[0], target)
        self.downloads += 1
        self.log(f"  downloaded {target.name}")
        return target

    def unpacked(self, wheel: Path) -> Path:
        """The wheel extracted (once) under unpacked/; the folder is a sys.path root."""
        target = self.root / "unpacked" / wheel.stem
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        try:
            with zipfile.ZipFile(wheel) as zf:
                members = [m for m in zf.namelist() if m.endswith(".py") and ".." not in m.split("/")]
                zf.extractall(tmp, members)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target


@dataclass
class ConsumerScan:
    """What one consumer release imports from the provider, and what it declares it needs."""

    version: Version
    sites: list[ImportSite]
    requires_provider: str | None = None  # the specifier it declares on the provider


def _declared_on(wheel: Path, provider: str) -> str | None:
    for raw in wheel_requires(wheel):
        try:
            req = Requirement(raw)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) == canonicalize_name(provider) and (
            req.marker is None or "extra" not in str(req.marker)
        ):
            return str(req.specifier)
    return None


def scan_consumer(wheel: Path, consumer: Source, provider: Source, version: Version) -> ConsumerScan:
    """Unguarded module-level imports of the provider in run-time files of a consumer wheel."""
    from gator_setup.analysis.sites import import_sites, wheel_sources

    sites = import_sites(wheel_sources(wheel), consumer.module, provider.module)
    return ConsumerScan(version, sites, _declared_on(wheel, provider.dist))


@functools.lru_cache(maxsize=1)
def _analysis_key() -> str:
    """A hash of the analyzer's and this module's code: cached scans are reused only if it matches."""
    import hashlib

    import gator_setup.analysis as analysis

    h = hashlib.sha256()
    for f in [*sorted(Path(analysis.__file__).parent.glob("*.py")), Path(__file__)]:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def cached_scan(
    cache: WheelCache, wheel: Path, consumer: Source, provider: Source, version: Version
) -> ConsumerScan:
    """scan_consumer, memoised on disk by wheel name, provider and analyzer version."""
    path = cache.root / "scans" / _analysis_key() / f"{wheel.stem}.{provider.module}.json"
    if path.exists():
        from gator_setup.analysis.sites import ImportSite

        try:
            data = json.loads(path.read_text())
            sites = [ImportSite(**site) for site in data["sites"]]
            return ConsumerScan(version, sites, data["requires_provider"])
        except (ValueError, KeyError, TypeError):
            pass  # a damaged cache entry is recomputed
    result = scan_consumer(wheel, consumer, provider, version)
    payload = {
        "sites": [site.__dict__ for site in result.sites],
        "requires_provider": result.requires_provider,
    }
    cache._write(path, json.dumps(payload))
    return result


def wheel_requires(wheel: Path) -> tuple[str, ...]:
    """The Requires-Dist lines of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as zf:
        meta = next((n for n in zf.namelist() if n.endswith(".dist-info/METADATA")), None)
        if meta is None:
            return ()
        headers = HeaderParser().parsestr(zf.read(meta).decode("utf-8", "replace"))
    return tuple(headers.get_all("Requires-Dist") or [])


@dataclass
class ProviderRelease:
    version: Version
    root: Path
    _resolved: dict[tuple[str, str | None], bool] = field(default_factory=dict)
    #: One Providers per top module: it memoises the exports it read (a fresh one re-parses them).
    _providers: dict[str, Any] = field(default_factory=dict)

    def provides(self, module: str, name: str | None) -> bool:
        """Whether `from module import name` (or `import module`) resolves statically."""
        key = (module, name)
        if key not in self._resolved:
            from gator_setup.analysis import ImportRef, Provider, Providers

            top = module.split(".", 1)[0]
            if top not in self._providers:
                self._providers[top] = Providers([Provider(top, top, str(self.version), self.root)])
            self._resolved[key] = self._providers[top].resolve(ImportRef(module, name, 0)) is None
        return self._resolved[key]


def _runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """[start, end) index ranges where flags are True."""
    out: list[tuple[int, int]] = []
    start: int | None = None
    for i, f in enumerate([*flags, False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i))
            start = None
    return out


def _bisect(
    lo: Version, hi: Version, all_versions: Sequence[Version], state: Callable[[Version], bool | None]
) -> tuple[Version, Version]:
    """Narrow (last version with state(lo), first with state(hi)) over the releases between them."""
    s_lo = state(lo)
    between = [v for v in all_versions if lo < v < hi and not v.is_prerelease and not v.is_devrelease]
    while between:
        mid = between[len(between) // 2]
        s = state(mid)
        if s is None:  # no wheel for it: drop it and go on
            between.remove(mid)
            continue
        if s == s_lo:
            lo = mid
            between = [v for v in between if v > mid]
        else:
            hi = mid
            between = [v for v in between if v < mid]
    return lo, hi


def _spec(lo: Version | None, hi: Version | None) -> str:
    parts = ([f">={lo}"] if lo is not None else []) + ([f"<{hi}"] if hi is not None else [])
    return ",".join(parts) or ">=0"


def build_rules(
    sources: Sources,
    cache: WheelCache,
    *,
    built: str,
    log: Callable[[str], None] = lambda m: None,
    verified: Sequence[Any] = (),
) -> list[dict[str, Any]]:
    """Scan everything and return the generated rules as TOML-ready dicts (sorted by id)."""
    prov = sources.provider
    p_all = cache.versions(prov.dist)
    p_selected = select_versions(p_all, prov)
    releases: dict[Version, ProviderRelease] = {}

    def provider(v: Version) -> ProviderRelease | None:
        if v not in releases:
            w = cache.wheel(prov.dist, v)
            if w is None:
                return None
            releases[v] = ProviderRelease(v, cache.unpacked(w))
        return releases[v]

    if not p_selected:
        raise BuildError(
            f"no {prov.dist} release in the cache {cache.root}"
            + (
                " (--offline: run once without it, with PyPI reachable, or pass --cache DIR)"
                if cache.offline
                else ""
            )
        )
    log(f"{prov.dist}: {len(p_selected)} release(s) {p_selected[0]} .. {p_selected[-1]}")
    p_list = [v for v in p_selected if provider(v) is not None]
    rules: list[dict[str, Any]] = []
    for cons in sources.consumers:
        c_all = cache.versions(cons.dist)
        c_selected = select_versions(c_all, cons)
        log(f"{cons.dist}: {len(c_selected)} release(s) {c_selected[0]} .. {c_selected[-1]}")
        scans: dict[Version, ConsumerScan] = {}

        def scan(
            v: Version, cons: Source = cons, scans: dict[Version, ConsumerScan] = scans
        ) -> ConsumerScan | None:
            if v not in scans:
                w = cache.wheel(cons.dist, v)
                if w is None:
                    return None
                scans[v] = cached_scan(cache, w, cons, prov, v)
            return scans[v]

        c_list = [v for v in c_selected if scan(v) is not None]
        keys = sorted({(s.module, s.name) for v in c_list for s in scans[v].sites}, key=str)
        for module, name in keys:
            missing = [not releases[p].provides(module, name) for p in p_list]
            if not any(missing):
                continue
            for pi, pj in _runs(missing):
                bad = _affected(scan, module, name, p_list[pi:pj])
                for ci, cj in _runs([bool(bad(v)) for v in c_list]):
                    rule = _make_rule(
                        cons,
                        prov,
                        module,
                        name,
                        c_list,
                        c_all,
                        (ci, cj),
                        p_list,
                        p_all,
                        (pi, pj),
                        scan,
                        provider,
                        built,
                        bad,
                    )
                    if rule is not None:
                        rules.append(rule)
    rules = _merge_same_ranges(rules)
    _mark_verified(rules, verified, log)
    seen: dict[str, int] = {}
    for r in rules:
        n = seen.get(r["id"], 0)
        seen[r["id"]] = n + 1
        if n:
            r["id"] = f"{r['id']}-{n + 1}"
    return sorted(rules, key=lambda r: str(r["id"]))


def _affected(
    scan: Callable[[Version], ConsumerScan | None],
    module: str,
    name: str | None,
    bad_providers: Sequence[Version],
) -> Callable[[Version], bool | None]:
    """Whether a consumer release imports the name and its own requirements admit a bad provider.

    A release whose declared range excludes every provider release lacking the name cannot be
    installed with one by a resolver (GTR100 reports forcing it), so it is not affected.
    """
    from packaging.specifiers import SpecifierSet

    def bad(v: Version) -> bool | None:
        s = scan(v)
        if s is None:
            return None
        if not any((x.module, x.name) == (module, name) for x in s.sites):
            return False
        spec = SpecifierSet(s.requires_provider or "")
        return any(spec.contains(p, prereleases=True) for p in bad_providers)

    return bad


def _make_rule(
    cons: Source,
    prov: Source,
    module: str,
    name: str | None,
    c_list: list[Version],
    c_all: list[Version],
    c_run: tuple[int, int],
    p_list: list[Version],
    p_all: list[Version],
    p_run: tuple[int, int],
    scan: Callable[[Version], ConsumerScan | None],
    provider: Callable[[Version], ProviderRelease | None],
    built: str,
    bad: Callable[[Version], bool | None],
) -> dict[str, Any] | None:
    def imports(v: Version) -> bool:
        s = scan(v)
        return s is not None and any((x.module, x.name) == (module, name) for x in s.sites)

    def lacks(v: Version) -> bool | None:
        r = provider(v)
        return None if r is None else not r.provides(module, name)

    ci, cj = c_run
    pi, pj = p_run
    # Bisect each boundary over every release in between (scanned versions are only a sample).
    c_lo = c_list[ci] if ci == 0 else _bisect(c_list[ci - 1], c_list[ci], c_all, bad)[1]
    c_hi = None if cj == len(c_list) else _bisect(c_list[cj - 1], c_list[cj], c_all, bad)[1]
    p_lo = p_list[pi] if pi == 0 else _bisect(p_list[pi - 1], p_list[pi], p_all, lacks)[1]
    p_hi = None if pj == len(p_list) else _bisect(p_list[pj - 1], p_list[pj], p_all, lacks)[1]
    installable = [s for v in c_list[ci:cj] if (s := scan(v)) is not None]
    if not installable:
        return None
    sites = [x for s in installable for x in s.sites if (x.module, x.name) == (module, name)]
    last = installable[-1]
    site = next(x for x in last.sites if (x.module, x.name) == (module, name))
    at_import = any(x.import_time for x in sites)
    symbol = f"{module}.{name}" if name else module
    c_range = _spec(None if ci == 0 else c_lo, c_hi)
    p_range = _spec(p_lo if pi > 0 else None, p_hi)
    if name:
        error = f"ImportError: cannot import name '{name}' from '{module}'"
    else:
        error = f"ModuleNotFoundError: No module named '{module}'"
    fails_at = f"import {cons.module}" if at_import else f"import {site.consumer_module}"
    # The narrowest fix: upgrade the consumer past the break, else move the provider out of its range.
    options = ([f"{cons.dist}>={c_hi}"] if c_hi is not None else []) + (
        [f"{prov.dist}<{p_lo}"] if pi > 0 else []
    )
    options += [f"{prov.dist}>={p_hi}"] if p_hi is not None else []
    if not options:
        return None  # missing from every scanned provider release: nothing installable to suggest
    fix, alternatives = options[0], options[1:]
    rid = f"gen-{canonicalize_name(cons.dist)}-{symbol.replace('_', '-').replace('.', '-').lower()}"
    if c_hi is not None:
        why = "excludes that range in its requirements" if imports(c_hi) else "no longer imports it"
        c_boundary = f"last affected {_prev(c_all, c_hi)}, first that {why} {c_hi}"
    else:
        c_boundary = f"still imported by the newest scanned release {c_list[-1]}"
    if pi > 0:
        p_boundary = f"last providing {_prev(p_all, p_lo)}, first without {p_lo}"
    else:
        p_boundary = f"missing since the oldest scanned release {p_list[0]}"
    if p_hi is not None:
        p_boundary += f"; provided again from {p_hi}"
    return {
        "id": rid,
        "title": f"{cons.dist} {c_range} imports {symbol}, which {prov.dist} {p_range} does not provide",
        "severity": "error" if at_import else "warning",
        "packages": {cons.dist: c_range, prov.dist: p_range},
        "declared": [cons.dist],
        "error": error,
        "fails_at": fails_at,
        "fix": fix,
        "alternatives": alternatives,
        "symbol": symbol,
        "provenance": {
            "tool": "tools/build_kb.py",
            "built": built,
            "import_site": f"{site.file}:{site.line} in {cons.dist} {last.version}",
            "consumer_bad_scanned": ", ".join(str(s.version) for s in installable),
            "consumer_boundary": c_boundary,
            "provider_boundary": p_boundary,
            "provider_scanned": f"{p_list[0]} .. {p_list[-1]} ({len(p_list)} releases)",
            "consumer_scanned": f"{c_list[0]} .. {c_list[-1]} ({len(c_list)} releases)",
            "declared_by_consumer": (
                f"{prov.dist}{last.requires_provider or ''} (in {cons.dist} {last.version})"
            ),
            "judged": "unguarded module-level import in a run-time file, resolved statically against "
            "the provider wheel's exports",
        },
    }


def _merge_same_ranges(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One rule per (consumer, ranges): names missing together are one break with one fix."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rules:
        key = json.dumps([r["declared"], r["packages"]], sort_keys=True)
        groups.setdefault(key, []).append(r)
    out: list[dict[str, Any]] = []
    for group in groups.values():
        # Names read by `import <consumer>` first, then by module path: the likeliest first error.
        group.sort(key=lambda r: (r["severity"] != "error", r["provenance"]["import_site"], r["symbol"]))
        head = dict(group[0])
        if len(group) > 1:
            others = [r["symbol"] for r in group[1:]]
            head["symbols"] = [head["symbol"], *others]
            head["title"] = head["title"].replace(
                head["symbol"], f"{head['symbol']} (and {', '.join(others)})", 1
            )
            head["provenance"] = dict(head["provenance"])
            head["provenance"]["also_missing"] = "; ".join(
                f"{r['symbol']} at {r['provenance']['import_site']}" for r in group[1:]
            )
        out.append(head)
    return out


def _prev(all_versions: Sequence[Version], v: Version) -> Version | None:
    earlier = [x for x in all_versions if x < v and not x.is_prerelease and not x.is_devrelease]
    return max(earlier) if earlier else None


def _mark_verified(rules: list[dict[str, Any]], verified: Sequence[Any], log: Callable[[str], None]) -> None:
    """A generated rule that a hand-verified rule already covers becomes fact_only, cross-checked."""
    for r in rules:
        for h in verified:
            if getattr(h, "symbol", None) not in r.get("symbols", [r["symbol"]]):
                continue
            cons = canonicalize_name(r["declared"][0])
            if cons not in h.packages:
                continue
            r["fact_only"] = True
            same = all(
                str(h.packages.get(canonicalize_name(n))) == str(_sorted_spec(s))
                for n, s in r["packages"].items()
            )
            r["provenance"]["confirms"] = f"{h.id} ({'same ranges' if same else 'ranges differ'})"
            if not same:
                log(f"warning: {r['id']} disagrees with verified rule {h.id}: {r['packages']}")


def _sorted_spec(spec: str) -> str:
    from packaging.specifiers import SpecifierSet

    return str(SpecifierSet(spec))


def render_rules(rules: Sequence[Mapping[str, Any]], header: str) -> str:
    """The generated TOML file (stable key order, one [[rule]] per entry)."""
    import tomli_w

    body = tomli_w.dumps({"schema_version": 1, "rule": list(rules)})
    return header + body
