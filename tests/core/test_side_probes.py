"""core/side_probes.py: the cold-cache work of GTR103/GTR104 split over forked children gives the
same facts as the probes alone, and a child's failure only costs time."""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

import pytest

from gator_setup.core.side_probes import SideProbes, _split
from gator_setup.envfacts import Distribution
from gator_setup.probes.backend_gates import probe_backend_gates
from gator_setup.probes.numpy_abi import probe_numpy_abi
from gator_setup.probes.python_env import read_distributions

NEEDS = frozenset({"numpy_abi", "backend_gates", "imports"})


def test_split_balances_the_weights() -> None:
    done: list[int] = []
    jobs = [(w, partial(done.append, w)) for w in (50, 40, 30, 20, 10, 5)]
    shares = _split(jobs, 2)
    assert len(shares) == 2
    sums = []
    for share in shares:
        before = sum(done)
        for job in share:
            job()
        sums.append(sum(done) - before)
    assert sorted(sums) == [75, 80]
    assert _split([], 2) == []
    assert len(_split(jobs[:1], 2)) == 1


@pytest.fixture
def installed() -> dict[str, Distribution]:
    dists, _ = read_distributions(sys.path)
    return dists


@pytest.mark.parametrize("fork", [True, False])
def test_facts_equal_the_probes_alone(
    installed: dict[str, Distribution], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork: bool
) -> None:
    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path / "alone"))
    alone = {"numpy_abi": probe_numpy_abi(installed), "backend_gates": probe_backend_gates(installed)}
    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path / "side"))
    side = SideProbes(NEEDS, installed, fork=fork).facts()
    assert side == alone
    assert list((tmp_path / "side").rglob("*.json"))  # the caches were filled
    # warm: nothing left to fork for, same facts
    assert SideProbes(NEEDS, installed, fork=fork)._children == []
    assert SideProbes(NEEDS, installed, fork=fork).facts() == alone


def test_a_failing_child_only_costs_time(
    installed: dict[str, Distribution], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gator_setup.probes import backend_gates

    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path / "alone"))
    alone = probe_backend_gates(installed)
    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path / "side"))
    parent = os.getpid()
    real = backend_gates.fill_cache

    def dies_in_child(lib: Distribution) -> None:
        if os.getpid() != parent:
            os._exit(3)
        real(lib)

    monkeypatch.setattr(backend_gates, "fill_cache", dies_in_child)
    facts = SideProbes(frozenset({"backend_gates"}), installed, fork=True).facts()
    assert facts == {"backend_gates": alone}
