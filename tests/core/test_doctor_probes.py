"""core/doctor.build_snapshot on a cold cache: GTR104's gates asked of the files in the imports
probe's pass (one read per file), GTR103's binaries and GTR100's requirement parse done in a forked
child give the facts the probes give alone, whichever way the work is shared; a lost child only
costs time."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gator_setup.core.config import Settings
from gator_setup.core.doctor import build_snapshot
from gator_setup.core.options import DoctorOptions
from gator_setup.envfacts import Distribution
from gator_setup.probes import backend_gates, numpy_abi, requirements
from gator_setup.probes.python_env import current_interpreter, read_distributions

SIDE = frozenset({"numpy_abi", "backend_gates", "requirements"})


@pytest.fixture
def installed() -> dict[str, Distribution]:
    dists, _ = read_distributions(sys.path)
    return dists


def _alone(
    installed: dict[str, Distribution], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, object]:
    monkeypatch.setenv("GATOR_CACHE_DIR", str(cache))
    return {
        numpy_abi.FACTS_KEY: numpy_abi.probe_numpy_abi(installed),
        backend_gates.FACTS_KEY: backend_gates.probe_backend_gates(installed, workers=1),
        requirements.FACTS_KEY: requirements.probe_requirements(installed, current_interpreter()),
    }


def _side_facts(needs: frozenset[str], workers: int | None) -> dict[str, object]:
    snapshot = build_snapshot(DoctorOptions(project_dir=None, workers=workers), Settings(), needs)
    return {k: v for k, v in snapshot.extra.items() if k in SIDE}


@pytest.mark.parametrize("workers", [1, None])
@pytest.mark.parametrize("with_imports", [True, False])
def test_facts_equal_the_probes_alone(
    installed: dict[str, Distribution],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: int | None,
    with_imports: bool,
) -> None:
    alone = _alone(installed, tmp_path / "alone", monkeypatch)
    assert alone[backend_gates.FACTS_KEY] is not None
    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path / "doctor"))
    # the imports cold too, so that the gates are read in the imports probe's pass
    monkeypatch.setenv("GATOR_IMPORTS_CACHE", str(tmp_path / "imports"))
    needs = SIDE | ({"imports"} if with_imports else set())
    asked: list[list[str]] = []
    real = backend_gates._read_gates
    monkeypatch.setattr(
        backend_gates, "_read_gates", lambda libs, w: asked.append([d.key for d in libs]) or real(libs, w)
    )
    assert _side_facts(needs, workers) == alone
    # with the imports probe, no library is read again for the gates
    assert asked == ([] if with_imports else [[d.key for d in backend_gates._libraries(installed, None)]])
    assert list((tmp_path / "doctor" / "backend-gates").rglob("*.json"))  # the caches were filled
    # warm: the same facts from the caches, nothing read
    asked.clear()
    assert _side_facts(needs, workers) == alone
    assert asked == []


def test_a_lost_numpy_abi_child_only_costs_time(
    installed: dict[str, Distribution], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _alone(installed, tmp_path / "alone", monkeypatch)
    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path / "doctor"))
    parent = os.getpid()
    real = numpy_abi.fill_caches

    def dies_in_child(dists: list[Distribution]) -> None:
        if os.getpid() != parent:
            os._exit(3)
        real(dists)

    monkeypatch.setattr(numpy_abi, "fill_caches", dies_in_child)
    assert _side_facts(SIDE, None) == alone


def test_the_side_child_fills_the_caches_when_it_can_fork(tmp_path: Path) -> None:
    """In a fresh interpreter (this test process may run other tests' threads, and no child is
    forked then): the cold requirement parse and numpy-ABI read happen in the child, and the
    parent reads the caches back."""
    import subprocess

    code = (
        "import os, sys\n"
        "from gator_setup.core import doctor\n"
        "from gator_setup.probes import requirements\n"
        "from gator_setup.probes.python_env import current_interpreter, read_distributions\n"
        "dists, _ = read_distributions(sys.path)\n"
        "interp = current_interpreter()\n"
        "assert requirements.uncached(dists, interp)\n"
        "child = doctor._start_side_work(frozenset({'requirements', 'numpy_abi'}), dists, interp)\n"
        "assert child is not None and child._fanout is not None  # forked\n"
        "child.result()\n"
        "print(requirements.uncached(dists, interp))\n"
        "print(doctor._start_side_work(frozenset({'requirements', 'numpy_abi'}), dists, interp))\n"
    )
    env = {**os.environ, "GATOR_CACHE_DIR": str(tmp_path / "cache")}
    if not sys.platform.startswith("linux"):
        pytest.skip("fork: Linux only")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["False", "None"]  # filled by the child; warm: no child at all


def test_a_gate_reader_bug_is_a_gate_problem_only(
    installed: dict[str, Distribution], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GTR104's question failing on a file makes its library a GTR104 problem; the imports
    probe's facts, read in the same pass, are those of a run without GTR104."""
    monkeypatch.setenv("GATOR_IMPORTS_CACHE", str(tmp_path / "imports-plain"))
    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path / "plain"))
    plain = build_snapshot(DoctorOptions(project_dir=None, workers=1), Settings(), frozenset({"imports"}))
    monkeypatch.setenv("GATOR_IMPORTS_CACHE", str(tmp_path / "imports"))
    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path / "doctor"))

    def broken(data: bytes) -> object:
        raise RuntimeError("gate reader bug")

    monkeypatch.setattr(backend_gates, "QUESTION", backend_gates.QUESTION._replace(answer=broken))
    needs = frozenset({"imports", "backend_gates"})
    snapshot = build_snapshot(DoctorOptions(project_dir=None, workers=1), Settings(), needs)
    facts = snapshot.extra[backend_gates.FACTS_KEY]
    assert isinstance(facts, backend_gates.BackendGateFacts)
    assert facts.problems and all("RuntimeError: gate reader bug" in p.message for p in facts.problems)
    assert snapshot.imports is not None and plain.imports is not None
    assert snapshot.imports.issues == plain.imports.issues
    assert snapshot.imports.problems == plain.imports.problems
    # the libraries whose gates could not be read are not cached (a later run tries again)
    failed = [d for d in installed.values() if d.name in {p.subject for p in facts.problems}]
    assert failed and not any(backend_gates._cache_file(d).exists() for d in failed)


def test_the_side_work_started_before_the_checks_load_is_what_the_default_selection_needs() -> None:
    """run_doctor starts the side child before loading the checks when no --only / --skip is
    given, with SIDE_NEEDS: each of them is needed by a check the default selection runs (so the
    child never does work the run would not ask for), and they are all the side work there is."""
    from gator_setup.checks.registry import builtin_checks
    from gator_setup.core.doctor import SIDE_NEEDS, select_checks

    default = select_checks(builtin_checks(), (), ())
    needed = frozenset().union(*(c.needs for c in default))
    assert needed.issuperset(SIDE_NEEDS)


def test_a_default_run_reads_its_environment_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The environment read early (default selection) is the one the snapshot is built on."""
    from gator_setup.core import doctor

    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path))
    reads: list[frozenset[str]] = []
    real = doctor.read_environment

    def counted(opts: DoctorOptions, side_needs: frozenset[str] = frozenset()) -> doctor.Environment:
        reads.append(side_needs)
        return real(opts, side_needs)

    monkeypatch.setattr(doctor, "read_environment", counted)
    doctor.run_doctor(DoctorOptions(project_dir=str(tmp_path), workers=1))
    assert reads == [doctor.SIDE_NEEDS]
    reads.clear()
    doctor.run_doctor(DoctorOptions(project_dir=str(tmp_path), workers=1, only=("GTR101",)))
    assert reads == [frozenset()]  # read when the snapshot is built, no side work needed
