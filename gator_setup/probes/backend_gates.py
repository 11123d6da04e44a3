"""Backends installed below the minimum version a library's availability checks require.

The gates (analysis/backend_gates.py) of each distribution that depends on a watched provider
(transformers, diffusers, ... and the providers themselves) are read once per name + version
(cached) and compared with the installed backend distributions. The files are read by the import
analysis engine, which asks QUESTION of each file it reads: in a doctor run, in the same pass as
the imports probe (one read per file, core/doctor.py); otherwise in a pass of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gator_setup.analysis.backend_gates import gates_in_source
from gator_setup.analysis.scan import AnswerError, FileQuestion
from gator_setup.envfacts import Distribution, ProbeProblem
from gator_setup.names import canonicalize_name

if TYPE_CHECKING:
    from gator_setup.probes.imports import Answers

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


def _cache_dir() -> Path:
    from gator_setup.cachedir import cache_root

    return cache_root() / "backend-gates" / f"v{CACHE_VERSION}"


def _cache_file(dist: Distribution) -> Path:
    from gator_setup.cachedir import dist_file

    return dist_file(_cache_dir(), dist)


def uncached(
    dists: Mapping[str, Distribution], watched: Mapping[str, str] | None = None
) -> list[Distribution]:
    """The libraries whose files probe_backend_gates would read (their gates are not cached)."""
    from gator_setup.cachedir import not_cached

    return not_cached(_cache_dir(), _libraries(dists, watched))


def _file_gates(data: bytes) -> list[dict[str, Any]] | None:
    """The gates one file defines (asked only of files holding both needles)."""
    return [gate._asdict() for gate in gates_in_source(data)] or None


#: What the engine asks of each file for this probe. A gate is a `def is_<x>_available(`: both
#: byte strings must be in the file, and most files hold neither.
QUESTION = FileQuestion((b"_available", b"def is_"), _file_gates)


def _read_gates(libs: Iterable[Distribution], workers: int | None) -> Answers:
    """The engine's answers to QUESTION for the files of `libs`, in a pass of its own."""
    from gator_setup.analysis.providers import Providers
    from gator_setup.probes.imports import analyze_distributions

    return analyze_distributions([], Providers([]), frozenset(), workers, question=QUESTION, ask_of=libs)[1]


def _cached_gates(lib: Distribution) -> list[dict[str, Any]] | None:
    try:
        return list(json.loads(_cache_file(lib).read_text("utf-8")))
    except (OSError, ValueError):
        return None


def _first_failure(read: list[tuple[str, Any]]) -> str | None:
    """`file: error` of the first file whose gates could not be read, if any."""
    return next((f"{rel}: {a.error}" for rel, a in read if isinstance(a, AnswerError)), None)


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
    dists: Mapping[str, Distribution],
    watched: Mapping[str, str] | None = None,
    *,
    answers: Answers | None = None,
    workers: int | None = None,
) -> BackendGateFacts:
    """Gates of the libraries that depend on watched providers, checked against installed backends.
    `answers`: the engine's answers to QUESTION already read (by key); the other uncached
    libraries are read here (`workers`: the engine's processes)."""
    from packaging.version import InvalidVersion, Version

    from gator_setup.cachedir import write_cache_json

    facts = BackendGateFacts()
    libs = _libraries(dists, watched)
    cached = {lib.key: _cached_gates(lib) for lib in libs}
    got = dict(answers or {})
    unread = [lib for lib in libs if cached[lib.key] is None and lib.key not in got]
    if unread:
        got.update(_read_gates(unread, workers))
    for lib in libs:
        gates = cached[lib.key]
        if gates is None:
            read = got[lib.key]
            failed = read if isinstance(read, str) else _first_failure(read)
            if failed is not None or isinstance(read, str):  # one unreadable library: not the probe
                facts.problems.append(ProbeProblem(FACTS_KEY, lib.name, f"cannot read: {failed}"))
                continue
            gates = [{**gate, "file": rel} for rel, found in read for gate in found]
            write_cache_json(_cache_file(lib), gates)
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
