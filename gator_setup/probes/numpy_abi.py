"""Binary files of installed distributions built against another numpy C ABI than the installed one.

Runs only when numpy >= 2 is installed: every other distribution's binary files (from RECORD) are
read once per distribution name + version (cached), and the numpy-1.x builds among them are kept,
with whether users' imports reach each extension module (analysis/reachability.py).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gator_setup.analysis.numpy_abi import extension_module_name, is_binary, numpy_build_of
from gator_setup.envfacts import Distribution, ProbeProblem, record_paths

#: Bump when what is recorded changes, so old cache entries are ignored.
CACHE_VERSION = "1"
FACTS_KEY = "numpy_abi"


@dataclass(frozen=True)
class BinaryBuild:
    """A binary file of a distribution that uses numpy's C API, and the numpy it was built against."""

    dist: str
    version: str
    rel_path: str
    numpy_major: int
    module: str | None  # dotted name for an extension module, None for a plain shared library
    reachable: bool = True
    reach: str = ""


@dataclass
class NumpyAbiFacts:
    """numpy's installed version and the binary files built against an older numpy ABI."""

    numpy_version: str | None
    mismatched: list[BinaryBuild] = field(default_factory=list)
    scanned: int = 0
    problems: list[ProbeProblem] = field(default_factory=list)


def _cache_dir() -> Path:
    from gator_setup.cachedir import cache_root

    return cache_root() / "numpy-abi" / f"v{CACHE_VERSION}"


def _cache_file(dist: Distribution) -> Path:
    from gator_setup.cachedir import dist_file

    return dist_file(_cache_dir(), dist)


def _record(dist: Distribution) -> list[str]:
    if not dist.path:
        return []
    try:
        text = (Path(dist.path) / "RECORD").read_text("utf-8", "replace")
    except OSError:
        return []
    return [path.replace("\\", "/") for path in record_paths(text)]


def builds_of(dist: Distribution, *, use_cache: bool = True) -> list[BinaryBuild]:
    """The numpy-using binary files of one distribution (cached by name + version)."""
    from gator_setup.cachedir import write_cache_json

    cache = _cache_file(dist)
    if use_cache:
        try:
            return [BinaryBuild(**r) for r in json.loads(cache.read_text("utf-8"))]
        except (OSError, ValueError, TypeError):
            pass
    rels = _record(dist)
    root = Path(dist.path).parent if dist.path else Path()
    packages = {r[: -len("/__init__.py")].replace("/", ".") for r in rels if r.endswith("/__init__.py")}
    out: list[BinaryBuild] = []
    for rel in rels:
        if not is_binary(rel) or rel.startswith("../"):
            continue
        try:
            major, is_ext = numpy_build_of(root / rel)
        except OSError:
            continue
        if major is None:
            continue
        module = extension_module_name(rel, packages) if is_ext else None
        out.append(BinaryBuild(dist.name, dist.version, rel, major, module))
    if use_cache:
        write_cache_json(cache, [asdict(b) for b in out])
    return out


def _with_reach(dist: Distribution, builds: list[BinaryBuild]) -> list[BinaryBuild]:
    from dataclasses import replace

    from gator_setup.analysis.reachability import PackageIndex, reach_for

    if not dist.path:
        return builds
    rels = _record(dist)
    mods = [b.module for b in builds if b.module]
    index = PackageIndex(Path(dist.path).parent, [r for r in rels if r.endswith(".py")], extra_modules=mods)
    reach = reach_for(index, mods, Path(dist.path))
    out = []
    for b in builds:
        r = reach.get(b.module or "")
        if r is not None:
            out.append(replace(b, reachable=r.reachable, reach=r.how))
        else:  # a shared library: loaded by the package's extension modules, taken as reached
            top = b.rel_path.split("/", 1)[0]
            out.append(replace(b, reach=f"a shared library of {dist.name} (under {top}/)"))
    return out


def _numpy2(dists: Mapping[str, Distribution]) -> bool:
    """numpy >= 2 is installed (the only case in which older builds break)."""
    numpy = dists.get("numpy")
    v = numpy.parsed_version if numpy is not None else None
    return v is not None and v.major >= 2


def uncached(dists: Mapping[str, Distribution]) -> list[Distribution]:
    """The distributions whose binaries probe_numpy_abi would read (not cached yet)."""
    if not _numpy2(dists):
        return []
    from gator_setup.cachedir import not_cached

    return not_cached(_cache_dir(), [d for d in dists.values() if d.key != "numpy"])


def fill_caches(dists: Iterable[Distribution]) -> None:
    """Read these distributions' numpy builds into the cache (what probe_numpy_abi then reads
    back); one that cannot be read is left to the probe, which reports it."""
    for dist in dists:
        with contextlib.suppress(Exception):
            builds_of(dist)


def probe_numpy_abi(dists: Mapping[str, Distribution], *, use_cache: bool = True) -> NumpyAbiFacts | None:
    """numpy-1.x builds among installed binaries when numpy >= 2 is installed; None without numpy."""
    numpy = dists.get("numpy")
    if numpy is None:
        return None
    facts = NumpyAbiFacts(numpy.version)
    if not _numpy2(dists):
        return facts
    for dist in sorted(dists.values(), key=lambda d: d.key):
        if dist.key == "numpy":
            continue
        try:
            builds = [b for b in builds_of(dist, use_cache=use_cache) if b.numpy_major < 2]
            facts.scanned += 1
            if builds:
                facts.mismatched.extend(_with_reach(dist, builds))
        except Exception as exc:  # one unreadable distribution must not sink the probe
            facts.problems.append(ProbeProblem(FACTS_KEY, dist.name, f"cannot read its binaries: {exc}"))
    return facts
