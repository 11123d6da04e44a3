"""torch build identification from files (no import), and the --deep probe's output handling."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from gpu_sysroot import Sysroot, fixture

from gator_setup.probes.system import ReplaySystem
from gator_setup.probes.torch_build import (
    classify,
    parse_deep_output,
    parse_version_py,
    probe_torch_build,
    run_deep,
)

SITE = ["/.gator/site-packages"]


@pytest.mark.parametrize(
    ("name", "kind", "local", "hip", "cuda"),
    [
        ("torch_version_py_2.2.0+cpu.txt", "cpu", "cpu", None, None),
        ("torch_version_py_2.2.1+cu121.txt", "cuda", "cu121", None, "12.1"),
        ("torch_version_py_2.3.0.dev+rocm6.0.txt", "rocm", "rocm6.0", "6.0.32830-d62f6a171", None),
    ],
)
def test_version_py_fixtures(name: str, kind: str, local: str, hip: str | None, cuda: str | None) -> None:
    fields = parse_version_py(fixture(name))
    assert fields["hip"] == hip and fields["cuda"] == cuda
    assert classify(fields["__version__"], fields) == (local, kind)


def test_untagged_pypi_cuda_wheel_is_cuda_by_version_py() -> None:
    fields = {"__version__": "2.2.0", "cuda": "12.1", "hip": None}
    assert classify("2.2.0", fields) == (None, "cuda")
    assert classify("2.2.0+rocm5.7", {}) == ("rocm5.7", "rocm")
    assert classify(None, {}) == (None, "unknown")


def test_version_py_is_never_executed() -> None:
    evil = "import os\nos.system('false')\n__version__ = '9.9'\ncuda = None\nhip = '5.7.1'\n"
    assert parse_version_py(evil) == {"__version__": "9.9", "cuda": None, "hip": "5.7.1"}
    assert parse_version_py("__version__ = '2.2.0'\nthis is ( not python") == {}
    assert parse_version_py("\ufffd\x00") == {}


def test_probe_reads_metadata_rocblas_archs_and_rocm_version(tmp_path: Path) -> None:
    Sysroot(tmp_path).torch(
        version="2.2.0+rocm5.7", hip="5.7.31921-d1770ee1b", rocblas_archs=("gfx906", "gfx900")
    )
    tb = probe_torch_build(ReplaySystem(tmp_path), SITE)
    assert (tb.version, tb.kind, tb.local, tb.rocm_version) == ("2.2.0+rocm5.7", "rocm", "rocm5.7", "5.7")
    assert tb.arch_list == ("gfx900", "gfx906") and tb.label == "torch 2.2.0+rocm5.7 (ROCm 5.7)"


def test_probe_without_torch_and_with_unreadable_version(tmp_path: Path) -> None:
    assert (
        probe_torch_build(ReplaySystem(tmp_path), SITE).unavailable
        == "torch is not installed in this environment"
    )
    Sysroot(tmp_path).write("/.gator/site-packages/torch/version.py", b"\xff\xfe garbage")
    tb = probe_torch_build(ReplaySystem(tmp_path), SITE)
    assert tb.version is None and tb.unavailable is not None and "cannot be read" in tb.unavailable


def test_deep_output_parsing() -> None:
    ok = parse_deep_output(
        'noise\nGATOR-DEEP {"ok": true, "arch_list": ["gfx900"], "device_count": 1, '
        '"devices": ["MI25"], "tensor_op": "cuda: 8.0"}\n',
        0,
    )
    assert ok.ok and ok.arch_list == ("gfx900",) and ok.devices == ("MI25",)
    crash = parse_deep_output(fixture("hip_error_no_binary_for_gpu_rocm4.0.txt"), -6)
    assert not crash.ok and crash.error is not None and "exit -6" in crash.error
    assert parse_deep_output("", None).error is not None


def test_run_deep_in_a_python_without_torch_reports_import_error(tmp_path: Path) -> None:
    # -I style isolation: a fresh interpreter whose sys.path cannot see torch
    fake = tmp_path / "py"
    fake.write_text(f'#!/bin/sh\nexec {sys.executable} -S -c "$2"\n')
    fake.chmod(0o755)
    res = run_deep(str(fake), timeout=60)
    assert not res.ok and res.error is not None and "torch" in res.error


def test_run_deep_timeout_is_a_result(tmp_path: Path) -> None:
    slow = tmp_path / "slow"
    slow.write_text("#!/bin/sh\nsleep 10\n")
    slow.chmod(0o755)
    res = run_deep(str(slow), timeout=0.5)
    assert not res.ok and "did not finish" in (res.error or "")


@pytest.mark.torch
def test_run_deep_on_this_interpreter_cpu() -> None:
    res = run_deep(sys.executable)
    assert res.ok, res.error
    assert res.tensor_op is not None and res.tensor_op.endswith("8.0")
