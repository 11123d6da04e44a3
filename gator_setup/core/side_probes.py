"""The doctor's binary-ABI (GTR103) and availability-gate (GTR104) probes, beside the imports probe.

Both cache what they read per distribution name + version, so a warm run reads a few small files.
On a cold cache they read every library's Python files and every binary's data sections: that work
is split over forked children (probes/aside.py) while this process runs the imports probe. Each
child fills the caches of its share of the distributions (the heaviest first, by the size of their
RECORD); then the probes run here as on a warm cache. A child that fails leaves its caches empty
and the probe does that work here, so the facts are the same either way. docs/imports.md has the
figures (one child: the gate probe's tail ran alone after the engine was done).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

from gator_setup.envfacts import Distribution
from gator_setup.probes.aside import Aside

#: The `needs` names of the probes run here.
SIDE = frozenset({"numpy_abi", "backend_gates"})
#: Children that fill the caches of a cold run (fewer where there are fewer cores).
MAX_CHILDREN = 2

Job = tuple[int, Callable[[], None]]


def _weight(dist: Distribution) -> int:
    """How much reading `dist` costs, roughly: the size of its RECORD (one line per file)."""
    try:
        return os.stat(Path(dist.path or "") / "RECORD").st_size if dist.path else 0
    except OSError:
        return 0


def _jobs(needs: frozenset[str], dists: Mapping[str, Distribution]) -> list[Job]:
    from gator_setup.probes import backend_gates, numpy_abi

    jobs: list[Job] = []
    if "backend_gates" in needs:
        for lib in backend_gates.uncached(dists):
            jobs.append((_weight(lib), partial(backend_gates.fill_cache, lib)))
    if "numpy_abi" in needs:
        todo = numpy_abi.uncached(dists)
        if todo:
            # binaries: only their data sections are searched, a small share of a library's cost
            weight = sum(_weight(d) for d in todo) // 10

            def fill_numpy() -> None:
                for d in todo:
                    numpy_abi.fill_cache(d)

            jobs.append((weight, fill_numpy))
    return jobs


def _split(jobs: list[Job], bins: int) -> list[list[Callable[[], None]]]:
    """The jobs in `bins` shares of about equal weight (heaviest first, each to the lightest)."""
    shares: list[tuple[int, list[Callable[[], None]]]] = [(0, []) for _ in range(bins)]
    for weight, job in sorted(jobs, key=lambda j: -j[0]):
        i = min(range(bins), key=lambda k: shares[k][0])
        shares[i] = (shares[i][0] + weight, [*shares[i][1], job])
    return [share for _, share in shares if share]


def _run_all(share: list[Callable[[], None]]) -> None:
    for job in share:
        job()


class SideProbes:
    """Started before the imports probe; `facts()` after it."""

    def __init__(self, needs: frozenset[str], dists: Mapping[str, Distribution], *, fork: bool) -> None:
        self.needs = needs & SIDE
        self.dists = dists
        self._children: list[Aside[None]] = []
        if fork and self.needs:
            try:
                cores = len(os.sched_getaffinity(0))
            except (AttributeError, OSError):
                cores = os.cpu_count() or 1
            for share in _split(_jobs(self.needs, dists), max(1, min(MAX_CHILDREN, cores))):
                self._children.append(Aside(partial(_run_all, share)))

    def facts(self) -> dict[str, object]:
        """The snapshot's extra facts of these probes (after the children are done), in this order."""
        for child in self._children:
            child.result()
        self._children = []
        facts: dict[str, object] = {}
        if "numpy_abi" in self.needs:
            from gator_setup.probes.numpy_abi import FACTS_KEY, probe_numpy_abi

            facts[FACTS_KEY] = probe_numpy_abi(self.dists)
        if "backend_gates" in self.needs:
            from gator_setup.probes.backend_gates import FACTS_KEY as GATES_KEY
            from gator_setup.probes.backend_gates import probe_backend_gates

            facts[GATES_KEY] = probe_backend_gates(self.dists)
        return facts
