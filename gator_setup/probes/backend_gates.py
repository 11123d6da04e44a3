"""Backends installed below the minimum version a library's availability checks require.

Reads the Python files of each distribution that depends on a watched provider (transformers,
diffusers, ... and the providers themselves) once per name + version (cached), keeps the gates
(analysis/backend_gates.py), and compares each with the installed backend distribution.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gator_setup.analysis.backend_gates import gates_in_source
from gator_setup.envfacts import Distribution, ProbeProblem
from gator_setup.names import canonicalize_name

FACTS_KEY = "backend_gates"
CACHE_VERSION = "2"
#: A backend whose availability function this many files of the library call is one the library is
#: built on (transformers' torch), not an optional extra: switching it off is an error.
PRIMARY_USES = 20


@dataclass(frozen=True)
class GateHit:
    """Library `dist` switches `backend` off: it needs >= minimum, `installed` is older."""

    dist: str
    version: str
    backend: str
    minimum: str
    installed: str
    file: str
    line: int
    uses: int  # files of the library that call is_<backend>_available


@dataclass
class BackendGateFacts:
    """Every gate an installed backend fails, and what could not be read."""

    hits: list[GateHit] = field(default_factory=list)
    problems: list[ProbeProblem] = field(default_factory=list)


def _libraries(dists: Mapping[str, Distribution], watched: Mapping[str, str] | None) -> list[Distribution]:
    """The distributions whose gates are read: the dependents of watched providers and the
    providers themselves, by name."""
    from gator_setup.probes.imports import dependents, watched_providers

    watched = dict(watched if watched is not None else watched_providers())
    libs = {d.key: d for d in dependents(dists, watched)}
    for dist_name in watched.values():
        d = dists.get(canonicalize_name(dist_name))
        if d is not None:
            libs[d.key] = d
    return sorted(libs.values(), key=lambda d: d.key)


def _cache_file(dist: Distribution) -> Path:
    from gator_setup.cachedir import cache_root

    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", f"{dist.key}-{dist.version}")
    return cache_root() / "backend-gates" / f"v{CACHE_VERSION}" / f"{safe}.json"


def uncached(
    dists: Mapping[str, Distribution], watched: Mapping[str, str] | None = None
) -> list[Distribution]:
    """The libraries whose files probe_backend_gates would read (their gates are not cached)."""
    return [lib for lib in _libraries(dists, watched) if not _cache_file(lib).is_file()]


def fill_cache(lib: Distribution) -> None:
    """Read one library's gates into the cache (what probe_backend_gates then reads back); a
    library that cannot be read is left to the probe, which reports it."""
    with contextlib.suppress(Exception):
        _gates_of(lib)


def _gates_of(dist: Distribution) -> list[dict[str, object]]:
    from gator_setup.cachedir import write_cache_json
    from gator_setup.probes.imports import dist_python_files

    cache = _cache_file(dist)
    try:
        return list(json.loads(cache.read_text("utf-8")))
    except (OSError, ValueError):
        pass
    root, rels = dist_python_files(dist)
    base = str(root)
    read = _reader()
    gates: list[dict[str, object]] = []
    for rel in rels:
        data = read(os.path.join(base, rel))
        if data is not None and _may_define_gate(data):
            for gate in gates_in_source(data):
                gates.append({**asdict(gate), "file": rel})
    write_cache_json(cache, gates)
    return gates


def _may_define_gate(data: bytes) -> bool:
    """A gate is a `def is_<x>_available(`: both byte strings must be in the file, and most files
    hold neither. "_available" is asked first: a longer needle, which `in` rules out about twice as
    fast as "def is_" (the native multi-needle search was slower here: it lists every match of
    "_available", a name that many files use often)."""
    return b"_available" in data and b"def is_" in data


def _reader() -> Callable[[str], bytes | None]:
    """Read a whole file (None when it cannot be read): the C helper's read_file where built."""
    from gator_setup.analysis import speedups

    fast = speedups.native()
    if fast is not None and hasattr(fast, "read_file"):
        native = fast.read_file

        def read_native(path: str) -> bytes | None:
            data: bytes | None = native(path, sys.maxsize)[0]
            return data

        return read_native

    def read(path: str) -> bytes | None:
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except OSError:
            return None

    return read


def _uses(dist: Distribution, function: str) -> int:
    """Files of `dist` that call is_<function>_available (read only for a gate that is not met)."""
    from gator_setup.probes.imports import dist_python_files

    root, rels = dist_python_files(dist)
    needle = f"is_{function}_available(".encode()
    count = 0
    for rel in rels:
        try:
            count += needle in (root / rel).read_bytes()
        except OSError:
            continue
    return count


def probe_backend_gates(
    dists: Mapping[str, Distribution], watched: Mapping[str, str] | None = None
) -> BackendGateFacts:
    """Gates of the libraries that depend on watched providers, checked against installed backends."""
    from packaging.version import InvalidVersion, Version

    facts = BackendGateFacts()
    for lib in _libraries(dists, watched):
        try:
            gates = _gates_of(lib)
        except Exception as exc:  # one unreadable distribution must not sink the probe
            facts.problems.append(ProbeProblem(FACTS_KEY, lib.name, f"cannot read: {exc}"))
            continue
        for g in gates:
            backend = dists.get(canonicalize_name(str(g["backend"])))
            if backend is None or backend.key == lib.key:
                continue
            try:
                if Version(backend.version).release >= Version(str(g["minimum"])).release:
                    continue
            except InvalidVersion:
                continue
            facts.hits.append(
                GateHit(
                    lib.name,
                    lib.version,
                    backend.name,
                    str(g["minimum"]),
                    backend.version,
                    str(g["file"]),
                    int(str(g["line"])),
                    _uses(lib, str(g.get("function", ""))),
                )
            )
    return facts
