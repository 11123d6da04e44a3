"""GTR2xx and GTR31x as pure functions of fake PlatformFacts (no probing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import dist, snapshot

from gator_setup.checks import platform as P
from gator_setup.checks import profile as PR
from gator_setup.checks.base import NotApplicable, Severity
from gator_setup.knowledge.profiles import load_profile
from gator_setup.probes.platform import GpuDevice, PlatformFacts
from gator_setup.probes.system import NodeAccess, UserInfo
from gator_setup.probes.torch_build import DeepTorch, TorchBuild

ROCM57 = TorchBuild(
    "2.2.0+rocm5.7",
    "rocm5.7",
    "rocm",
    hip="5.7.31921",
    arch_list=("gfx900", "gfx906", "gfx1030"),
    arch_source="test",
)
CU121 = TorchBuild(
    "2.2.1+cu121", "cu121", "cuda", cuda="12.1", arch_list=("sm_50", "sm_80", "sm_86", "sm_90")
)


def amd(arch: str, name: str = "GPU") -> GpuDevice:
    return GpuDevice("amd", 0, name, arch, vram_bytes=16 * 1024**3, render_node="/dev/dri/renderD128")


def run(check, facts: PlatformFacts, *dists, profile=None):
    env = snapshot(*dists, platform=facts, profile=profile)
    return list(check().run(env))


def test_missing_arch_with_family_override_hint_and_risks() -> None:
    (f,) = run(P.ArchInWheel, PlatformFacts(gpus=(amd("gfx1031", "RX 6700 XT"),), torch=ROCM57))
    assert f.severity is Severity.ERROR and "needs gfx1031" in f.message
    assert f.fix is not None and "HSA_OVERRIDE_GFX_VERSION=10.3.0" in f.fix and "page faults" in f.fix


def test_missing_arch_without_family_has_no_override_hint() -> None:
    (f,) = run(P.ArchInWheel, PlatformFacts(gpus=(amd("gfx1151"),), torch=ROCM57))
    assert f.fix is not None and "HSA_OVERRIDE" not in f.fix


def test_arch_present_or_unknown() -> None:
    assert run(P.ArchInWheel, PlatformFacts(gpus=(amd("gfx900"),), torch=ROCM57)) == []
    unknown = TorchBuild("2.2.0+rocm5.7", "rocm5.7", "rocm", hip="5.7")
    (f,) = run(P.ArchInWheel, PlatformFacts(gpus=(amd("gfx900"),), torch=unknown))
    assert f.severity is Severity.INFO and "--deep" in (f.fix or "")


def test_override_needless_and_cross_generation() -> None:
    (f,) = run(P.ArchInWheel, PlatformFacts(gpus=(amd("gfx900"),), torch=ROCM57, hsa_override="9.0.0"))
    assert f.severity is Severity.WARNING and "unset" in (f.fix or "")
    found = run(P.ArchInWheel, PlatformFacts(gpus=(amd("gfx900"),), torch=ROCM57, hsa_override="11.0.0"))
    assert [x.severity for x in found] == [Severity.WARNING]  # gfx900 native: "remove it" wins
    found = run(P.ArchInWheel, PlatformFacts(gpus=(amd("gfx1151"),), torch=ROCM57, hsa_override="9.0.0"))
    assert any(x.severity is Severity.ERROR and "different GPU generation" in x.message for x in found)
    (bad,) = run(P.ArchInWheel, PlatformFacts(gpus=(amd("gfx900"),), torch=ROCM57, hsa_override="gfx900"))
    assert bad.severity is Severity.ERROR


def test_nvidia_arch_missing() -> None:
    gpu = GpuDevice("nvidia", 0, "RTX 5060 Ti", "sm_120")
    (f,) = run(P.ArchInWheel, PlatformFacts(gpus=(gpu,), torch=CU121))
    assert "sm_120" in f.message and "no kernel image" in f.message


def test_nvidia_binary_compatibility_within_a_major() -> None:
    ada = GpuDevice("nvidia", 0, "RTX 4090", "sm_89")  # sm_86 SASS runs on sm_89
    assert run(P.ArchInWheel, PlatformFacts(gpus=(ada,), torch=CU121)) == []
    old = TorchBuild("2.2.1+cu121", "cu121", "cuda", cuda="12.1", arch_list=("sm_80", "sm_90"))
    turing = GpuDevice("nvidia", 0, "T4", "sm_75")  # newer SASS never runs on an older GPU
    assert len(run(P.ArchInWheel, PlatformFacts(gpus=(turing,), torch=old))) == 1
    ptx = TorchBuild("2.9.0+cu130", "cu130", "cuda", cuda="13.0", arch_list=("sm_90", "compute_90"))
    blackwell = GpuDevice("nvidia", 0, "B200", "sm_100")
    assert run(P.ArchInWheel, PlatformFacts(gpus=(blackwell,), torch=ptx)) == []


def test_vendor_mismatch_both_ways_and_cpu_wheel() -> None:
    nv = GpuDevice("nvidia", 0, "Tesla T4", "sm_75")
    (f,) = run(P.TorchBuildMatchesGpu, PlatformFacts(gpus=(nv,), torch=ROCM57, nvidia_driver="535.129.03"))
    assert "ROCM build" in f.message and f.fix == (
        "pip install --force-reinstall torch --index-url https://download.pytorch.org/whl/cu121"
    )
    cpu = TorchBuild("2.2.0+cpu", "cpu", "cpu")
    (g,) = run(P.TorchBuildMatchesGpu, PlatformFacts(gpus=(amd("gfx900"),), torch=cpu, rocm_version="6.1.2"))
    assert "CPU-only" in g.message and g.fix is not None and g.fix.endswith("/whl/rocm6.1")
    assert run(P.TorchBuildMatchesGpu, PlatformFacts(gpus=(), torch=CU121)) == []


def test_cuda_driver_too_old_by_api_and_by_driver_table() -> None:
    nv = (GpuDevice("nvidia", 0, "Tesla T4", "sm_75"),)
    (f,) = run(
        P.CudaDriverAge, PlatformFacts(gpus=nv, torch=CU121, cuda_driver_api="11.4", nvidia_driver="470.1")
    )
    assert f.severity is Severity.ERROR and "525.60.13" in (f.fix or "")
    (g,) = run(P.CudaDriverAge, PlatformFacts(gpus=nv, torch=CU121, nvidia_driver="470.182.03"))
    assert "too old" in g.message
    assert run(P.CudaDriverAge, PlatformFacts(gpus=nv, torch=CU121, cuda_driver_api="12.2")) == []


def test_rocm_userspace_mismatch_and_absent() -> None:
    facts = PlatformFacts(gpus=(amd("gfx900"),), torch=ROCM57, rocm_version="6.3.4", rocm_source="x")
    (f,) = run(P.RocmUserSpace, facts)
    assert f.severity is Severity.WARNING and "6.3.4" in f.message and "ROCm 5.7" in f.message
    (g,) = run(P.RocmUserSpace, PlatformFacts(gpus=(amd("gfx900"),), torch=ROCM57))
    assert g.severity is Severity.INFO


def test_device_access_missing_kfd_and_relogin_case() -> None:
    facts = PlatformFacts(gpus=(amd("gfx900"),), device_nodes=(NodeAccess("/dev/kfd", exists=False),))
    (f,) = run(P.DeviceAccess, facts)
    assert "/dev/kfd does not exist" in f.message
    node = NodeAccess("/dev/kfd", True, False, "render", "0660")
    user = UserInfo("bob", groups=("bob", "video"), login_groups=("bob", "video", "render"))
    (g,) = run(P.DeviceAccess, PlatformFacts(gpus=(amd("gfx900"),), device_nodes=(node,), user=user))
    assert "log out" in (g.fix or "") and "usermod" not in (g.fix or "")


def test_numpy_abi_boundary() -> None:
    facts = PlatformFacts()
    assert run(P.NumpyAbi, facts, dist("torch", "2.3.0"), dist("numpy", "2.0.2")) == []
    assert run(P.NumpyAbi, facts, dist("torch", "2.2.0+rocm5.7"), dist("numpy", "1.26.4")) == []
    (f,) = run(P.NumpyAbi, facts, dist("torch", "2.2.2+cpu"), dist("numpy", "2.0.0"))
    assert f.fix == 'pip install "numpy<2"'


def test_memory_against_profile() -> None:
    prof = load_profile("gator-rocm5.7")
    small = GpuDevice("amd", 0, "RX 570", "gfx803", vram_bytes=4 * 1024**3)
    found = run(P.MemoryFits, PlatformFacts(gpus=(small,), ram_bytes=8 * 1024**3), profile=prof)
    assert [f.message.split()[0] for f in found] == ["System", "Largest"]
    with pytest.raises(NotApplicable):  # no profile: the needs are unknown, so skipped
        run(P.MemoryFits, PlatformFacts(gpus=(small,), ram_bytes=8 * 1024**3))


def test_deep_results() -> None:
    bad = DeepTorch(ok=False, error="torch import crashed (exit -6): hipErrorNoBinaryForGpu")
    (f,) = run(P.DeepTorchProbe, PlatformFacts(deep=bad))
    assert f.severity is Severity.ERROR and "hipErrorNoBinaryForGpu" in f.message
    blind = DeepTorch(ok=True, device_count=0, tensor_op="cpu: 8.0")
    (g,) = run(P.DeepTorchProbe, PlatformFacts(gpus=(amd("gfx900"),), torch=ROCM57, deep=blind))
    assert g.severity is Severity.ERROR and "sees 0 GPUs" in g.message


def test_profile_checks_wrong_build_range_and_platform(tmp_path: Path) -> None:
    prof = load_profile("gator-rocm5.7")
    facts = PlatformFacts(gpus=(), torch=TorchBuild("2.2.0+cpu", "cpu", "cpu"))
    (plat,) = run(PR.ProfilePlatform, facts, profile=prof)
    assert "expects an AMD GPU (gfx900)" in plat.message
    (t,) = run(PR.ProfileTorch, facts, profile=prof)
    assert "torch 2.2.0+cpu (CPU-only)" in t.message
    found = run(
        PR.ProfileConstraints,
        facts,
        dist("huggingface-hub", "1.2.0"),
        dist("diffusers", "0.30.3"),
        profile=prof,
    )
    assert [f.packages for f in found] == [("huggingface-hub",)]
    assert found[0].fix == 'pip install -c constraints/gator-rocm5.7.txt "huggingface_hub<1.0,>=0.24"'
    no_gfx900 = TorchBuild("2.2.0+rocm5.7", "rocm5.7", "rocm", arch_list=("gfx906",))
    (a,) = run(PR.ProfileArchList, PlatformFacts(torch=no_gfx900), profile=prof)
    assert "gfx900" in a.message
    with pytest.raises(NotApplicable):  # no profile: reported as skipped, not passed
        run(PR.ProfileTorch, PlatformFacts(torch=ROCM57))
