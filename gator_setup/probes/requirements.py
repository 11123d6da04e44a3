"""Declared requirements (Requires-Dist) of the installed distributions, parsed, with their markers
evaluated for the target interpreter: what GTR100 compares with the installed versions.

Parsing them takes packaging's requirement and marker parser, whose import alone (packaging.markers
pulls in packaging.tags, platform, logging, sysconfig) was about a fifth of a warm doctor. The
parsed form of one set of distributions on one interpreter never changes, so it is cached: one
small file per distinct (distributions, versions, Requires-Dist, marker environment, packaging
version), read back without importing the parser.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from gator_setup.envfacts import Distribution, Interpreter

FACTS_KEY = "requirements"
CACHE_VERSION = "1"

# `name ...; extra == "x"` only applies when that extra was requested, which metadata cannot
# tell, so such requirements are skipped; matching them before parsing saves most of the parse
# (transformers alone declares ~400 of them).
_ONLY_EXTRA = re.compile(r"""^[^;]*;\s*extra\s*==\s*(['"])[^'"]*\1\s*$""")


class Declared(NamedTuple):
    """One requirement that applies to this interpreter: `text` is packaging's normal form."""

    raw: str
    text: str  # str(Requirement(raw))
    name: str  # as written
    specifier: str  # str(requirement.specifier); "" for any version


class Unparsable(NamedTuple):
    """A Requires-Dist line that packaging cannot parse (or whose marker cannot be evaluated)."""

    raw: str


Item = Declared | Unparsable
#: A distribution's Requires-Dist lines and what applies of them. The lines travel with the result:
#: a what-if snapshot replaces distributions but may keep these facts, and a check uses them only
#: for the very lines it would parse (else it parses them itself).
Parsed = tuple[tuple[str, ...], list[Item]]


def marker_environment(interp: Interpreter) -> dict[str, str]:
    """PEP 508 marker variables for the target interpreter (not gator's own)."""
    system = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}.get(interp.platform, interp.platform)
    parts = interp.version.split(".")
    return {
        "implementation_name": interp.implementation.lower(),
        "implementation_version": interp.version,
        "os_name": "nt" if interp.platform == "win32" else "posix",
        "platform_machine": interp.machine,
        "platform_python_implementation": interp.implementation,
        "platform_release": "",
        "platform_system": system,
        "platform_version": "",
        "python_full_version": interp.version,
        "python_version": ".".join(parts[:2]),
        "sys_platform": interp.platform,
        "extra": "",
    }


def evaluate(requires: Iterable[str], marker_env: Mapping[str, str]) -> list[Item]:
    """The requirements among `requires` that apply under `marker_env`, in their order."""
    from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
    from packaging.requirements import InvalidRequirement, Requirement

    env = dict(marker_env)
    out: list[Item] = []
    for raw in requires:
        if _ONLY_EXTRA.match(raw):
            continue
        try:
            req = Requirement(raw)
            if req.marker is not None and not req.marker.evaluate(env):
                continue
        except (InvalidRequirement, InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            out.append(Unparsable(raw))
            continue
        out.append(Declared(raw, str(req), req.name, str(req.specifier)))
    return out


def _cache_key(dists: Mapping[str, Distribution], marker_env: Mapping[str, str]) -> str:
    import packaging

    from gator_setup.shorthash import short_hash

    spec = json.dumps(
        [
            CACHE_VERSION,
            packaging.__version__,
            sorted(marker_env.items()),
            sorted((d.key, d.version, list(d.requires)) for d in dists.values()),
        ],
        separators=(",", ":"),
    )
    return short_hash(spec, 24)


def _to_json(items: list[Item]) -> list[list[str]]:
    return [[i.raw] if isinstance(i, Unparsable) else [i.raw, i.text, i.name, i.specifier] for i in items]


def _from_json(rows: list[list[str]]) -> list[Item]:
    return [Unparsable(r[0]) if len(r) == 1 else Declared(r[0], r[1], r[2], r[3]) for r in rows]


def _cache_file(dists: Mapping[str, Distribution], marker_env: Mapping[str, str]) -> Path:
    from gator_setup.cachedir import cache_root

    return cache_root() / "requirements" / f"v{CACHE_VERSION}" / f"{_cache_key(dists, marker_env)}.json"


def uncached(dists: Mapping[str, Distribution], interp: Interpreter) -> bool:
    """True when probe_requirements would parse (nothing cached for these distributions here)."""
    return not _cache_file(dists, marker_environment(interp)).is_file()


def fill_cache(dists: Mapping[str, Distribution], interp: Interpreter) -> None:
    """Parse and cache (what probe_requirements then reads back); a failure is left to the probe."""
    with contextlib.suppress(Exception):
        probe_requirements(dists, interp)


def probe_requirements(
    dists: Mapping[str, Distribution], interp: Interpreter, *, use_cache: bool = True
) -> dict[str, Parsed]:
    """Each distribution's applicable requirements, by distribution key (cached, see above)."""
    from gator_setup.cachedir import write_cache_json

    marker_env = marker_environment(interp)
    cache = _cache_file(dists, marker_env)
    if use_cache:
        try:
            stored = json.loads(cache.read_text("utf-8"))
            if set(stored) == set(dists):
                return {key: (dists[key].requires, _from_json(rows)) for key, rows in stored.items()}
        except (OSError, ValueError, TypeError, IndexError, AttributeError):
            pass
    facts = {key: (d.requires, evaluate(d.requires, marker_env)) for key, d in dists.items()}
    if use_cache:
        write_cache_json(cache, {key: _to_json(items) for key, (_, items) in facts.items()})
    return facts
