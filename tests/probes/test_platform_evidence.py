"""Evidence beyond sysfs: sysroots holding only recorded tool output, WSL2, and when tools run at all.

Every case replays a real capture (tests/fixtures/gpu, each naming its public source) and asserts
what gator derives from it (architecture, VRAM, driver, the finding's group), not the raw text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gpu_sysroot import Sysroot, fixture
from hypothesis import given, settings
from hypothesis import strategies as st

from gator_setup.probes import collect_env
from gator_setup.probes.platform import detect_platform, nvidia_arch_for, probe_platform
from gator_setup.probes.system import LiveSystem, ReplaySystem

SITE = ["/.gator/site-packages"]
GIB = 1024**3


def probe(root: Path):
    return probe_platform(ReplaySystem(root), SITE, use_nvml=False)


def only_command(root: Path, key: str, name: str):
    Sysroot(root).command(key, fixture(name))
    return probe(root)


@pytest.mark.parametrize(
    ("key", "name", "gpu_name", "arch", "vram_mib", "driver", "cuda"),
    [
        (
            "nvidia-smi",
            "nvidia_smi_h100_535_gvisor_TRUNCATED.txt",
            "NVIDIA H100 80GB HBM3",
            "sm_90",
            81559,
            "535.129.03",
            "12.2",
        ),
        (
            "nvidia-smi",
            "nvidia_smi_t4_smi450_driver418_mismatch.txt",
            "Tesla T4",
            "sm_75",
            15079,
            "418.67",  # the Driver Version field, not the 450.66 banner of the tool
            "10.1",
        ),
        (
            "nvidia-smi",
            "nvidia_smi_wsl2_rtx3060_cuda_err_garbled.txt",
            "NVIDIA GeForce RTX 3060 ...",  # cut by the table: the name keeps saying so
            "sm_86",
            6144,
            "546.80",
            None,  # "CUDA Version: ERR!" is not a version
        ),
        (
            "nvidia-smi-q",
            "nvidia_smi_q_t4_colab_460_TRUNCATED.txt",
            "Tesla T4",
            "sm_75",
            None,
            "460.32.03",
            "11.2",
        ),
    ],
)
def test_nvidia_smi_alone_names_gpu_arch_vram_and_driver(
    tmp_path: Path, key, name, gpu_name, arch, vram_mib, driver, cuda
) -> None:
    facts = only_command(tmp_path, key, name)
    gpu = facts.gpus[0]
    assert (gpu.vendor, gpu.name, gpu.arch) == ("nvidia", gpu_name, arch)
    assert gpu.vram_bytes == (vram_mib * 1024**2 if vram_mib else None)
    assert (facts.nvidia_driver, facts.cuda_driver_api) == (driver, cuda)
    assert facts.sources["nvidia_driver"].startswith("nvidia-smi")
    assert "name table" in gpu.source and facts.platform == "Linux"


def test_truncated_table_keeps_the_gpus_it_shows(tmp_path: Path) -> None:
    facts = only_command(tmp_path, "nvidia-smi", "nvidia_smi_h100_535_gvisor_TRUNCATED.txt")
    assert [(g.index, g.arch, g.vram_bytes) for g in facts.gpus] == [
        (0, "sm_90", 81559 * 1024**2),
        (1, "sm_90", None),  # its memory row was cut off
    ]


def test_wsl2_nvidia_smi_q_shows_windows_driver_model(tmp_path: Path) -> None:
    facts = only_command(tmp_path, "nvidia-smi-q", "nvidia_smi_q_wsl2_gtx1650ti_wddm_TRUNCATED.txt")
    (gpu,) = facts.gpus
    assert (gpu.name, gpu.arch) == ("NVIDIA GeForce GTX 1650 Ti with Max-Q Design", "sm_75")
    assert (facts.nvidia_driver, facts.cuda_driver_api, facts.platform) == ("510.06", "11.6", "WSL2")
    assert "WDDM" in facts.sources["platform"]


def test_wsl2_detected_from_proc_version_and_dxg(tmp_path: Path) -> None:
    s = Sysroot(tmp_path)
    s.write("/proc/version", "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1)\n")
    assert detect_platform(ReplaySystem(tmp_path)) == ("WSL2", "/proc/version")
    other = Sysroot(tmp_path / "b").write("/dev/dxg", "")
    assert detect_platform(ReplaySystem(other.root)) == ("WSL2", "/dev/dxg")
    plain = Sysroot(tmp_path / "c").write("/proc/version", "Linux version 6.8.0-45-generic (buildd@lcy02)\n")
    assert detect_platform(ReplaySystem(plain.root)) == ("Linux", None)


def test_wsl2_dxg_alone_is_enough_to_ask_nvidia_smi(tmp_path: Path) -> None:
    s = Sysroot(tmp_path).write("/dev/dxg", "")
    s.write("/usr/lib/wsl/lib/libcuda.so.1", "")
    s.command("nvidia-smi", fixture("nvidia_smi_wsl2_rtx3060_cuda_err_garbled.txt"))
    facts = probe(tmp_path)
    assert facts.platform == "WSL2" and facts.gpus[0].arch == "sm_86"
    # WSL has no /dev/kfd and needs none: no device-node facts are collected there.
    assert facts.device_nodes == ()


@pytest.mark.parametrize(
    ("name", "gpu_name", "arch", "device_id", "cus"),
    [
        # ROCm 2.2: no Marketing Name; the Chip ID (26751 = 0x687f) names the card.
        (
            "rocminfo_gfx900_vega_rocm2.2_no_marketing_name_TRUNCATED.txt",
            "Radeon RX Vega 56/64",
            "gfx900",
            "0x687f",
            None,
        ),
        (
            "rocminfo_gfx900_flatcar_amd_radeon_graphics_TRUNCATED.txt",
            "AMD Radeon Graphics",
            "gfx900",
            None,
            None,
        ),
        # Line breaks lost in the paste: the agent is recovered from one long line.
        ("rocminfo_gfx906_radeon_vii_flattened_garbled.txt", "AMD Radeon VII", "gfx906", "0x66af", None),
        ("rocminfo_gfx1100_rx7900xtx_ollama_TRUNCATED.txt", "Radeon RX 7900 XTX", "gfx1100", "0x744c", 96),
    ],
)
def test_rocminfo_alone_names_gpu_and_arch(tmp_path: Path, name, gpu_name, arch, device_id, cus) -> None:
    facts = only_command(tmp_path, "rocminfo", name)
    (gpu,) = facts.gpus
    assert (gpu.vendor, gpu.name, gpu.arch, gpu.device_id, gpu.compute_units) == (
        "amd",
        gpu_name,
        arch,
        device_id,
        cus,
    )
    assert gpu.source == "rocminfo" and facts.driver_errors == ()


def test_rocminfo_vram_from_the_global_pool_and_no_invented_driver(tmp_path: Path) -> None:
    facts = only_command(tmp_path, "rocminfo", "rocminfo_gfx1030_rx6900xt_rocm6.3.3.txt")
    (gpu,) = facts.gpus
    assert (gpu.arch, gpu.vram_bytes) == ("gfx1030", 16760832 * 1024)
    # ROCm 6.3's "ROCk module is loaded" carries no version (6.2+ DKMS prints one): unknown it stays.
    assert facts.amdgpu_driver is None and "amdgpu_driver" not in facts.sources


def test_permission_denied_rocminfo_beside_rocm_smi(tmp_path: Path) -> None:
    text = fixture("transcript_rocminfo_permission_denied_rocm_smi_concise_groups.txt")
    rocminfo, rest = text.split("# rocm-smi\n")
    s = Sysroot(tmp_path).command("rocminfo", rocminfo.split("# rocminfo\n")[1], rc=1)
    s.command("rocm-smi", rest.split("# groups\n")[0])
    facts = probe(tmp_path)
    assert [g.source for g in facts.gpus] == ["rocm-smi"] * 4  # rocm-smi reads sysfs, no /dev/kfd needed
    (kfd,) = facts.device_nodes
    assert (kfd.exists, kfd.readable_writable, kfd.known) == (True, False, True)
    assert facts.nameless_user and facts.driver_errors == ()


def test_invalid_argument_is_a_driver_error_not_a_group_problem(tmp_path: Path) -> None:
    text = fixture("transcript_rocminfo_invalid_argument_rocm_smi_showallinfo_mi300x_TRUNCATED.txt")
    info, smi = text.split("root:/workspace/rocm# rocm-smi --showallinfo\n")
    Sysroot(tmp_path).command("rocminfo", info.split("# rocminfo\n")[1]).command("rocm-smi", smi)
    facts = probe(tmp_path)
    (gpu,) = facts.gpus
    assert (gpu.name, gpu.device_id, gpu.arch) == ("AMD Instinct MI300X OAM", "0x74a1", "gfx942")
    assert facts.driver_errors == ("rocminfo: cannot open /dev/kfd: Invalid argument",)
    assert facts.amdgpu_driver == "6.7.0" and facts.sources["amdgpu_driver"] == "rocminfo"
    assert facts.kfd_user == "root" and facts.kfd_group == "nogroup"
    assert not any(n.known for n in facts.device_nodes)  # nothing pasted says who may open /dev/kfd


def test_collect_env_gives_gpu_torch_build_and_wsl(tmp_path: Path) -> None:
    facts = only_command(tmp_path, "collect-env", "torch_collect_env_cuda12.1_rtx4070_wsl2_head.txt")
    (gpu,) = facts.gpus
    assert (gpu.name, gpu.arch, gpu.source) == ("NVIDIA GeForce RTX 4070 Laptop GPU", "sm_89", "collect_env")
    assert (facts.nvidia_driver, facts.platform) == ("551.88", "WSL2")
    assert (facts.torch.version, facts.torch.kind, facts.torch.cuda) == ("2.4.0+cu121", "cuda", "12.1")
    rocm = only_command(tmp_path / "r", "collect-env", "torch_collect_env_rocm6.3_gfx1010_head.txt")
    assert [(g.vendor, g.arch) for g in rocm.gpus] == [("amd", "gfx1010")]
    assert (rocm.torch.kind, rocm.torch.rocm_version) == ("rocm", "6.3")
    cpu = only_command(
        tmp_path / "c", "collect-env", "torch_collect_env_cpu_only_macos_torch2.2.2_email_wrapped.txt"
    )
    assert cpu.gpus == () and cpu.torch.kind == "cpu"


def test_files_first_tools_only_when_something_suggests_a_gpu(tmp_path: Path) -> None:
    # No KFD, no PCI device, no node, no tool: nothing is run (a .hang would show up as a note).
    s = Sysroot(tmp_path).write("/proc/meminfo", "MemTotal: 1000 kB\n")
    facts = probe(tmp_path)
    assert facts.gpus == () and not any("not available" in u for u in facts.unavailable)
    # The tool's mere presence is a hint: its recorded output is used.
    s.command("rocminfo", fixture("rocminfo_gfx1100_rx7900xtx_ollama_TRUNCATED.txt"))
    assert [g.arch for g in probe(tmp_path).gpus] == ["gfx1100"]


def test_live_tools_found_in_wsl_and_rocm_folders(tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    out = tmp_path / "out.txt"
    out.write_text(fixture("nvidia_smi_h100_535_gvisor_TRUNCATED.txt"))
    # Shell builtins only: PATH holds nothing.
    fake.write_text(f'#!/bin/sh\nwhile IFS= read -r line; do echo "$line"; done < {out}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("gator_setup.probes.system.TOOL_DIRS", (str(fake.parent),))
    live = LiveSystem()
    assert live.has_command("nvidia-smi") and not live.has_command("rocminfo")
    assert not live.has_command("collect-env")  # evidence only when recorded
    res = live.run("nvidia-smi")
    assert res.ok and "H100" in res.stdout


@pytest.mark.parametrize(
    ("name", "family", "arch"),
    [
        ("NVIDIA H100 80GB HBM3", None, "sm_90"),
        ("NVIDIA GH200 480GB", None, "sm_90"),
        ("NVIDIA A100-SXM4-80GB", None, "sm_80"),
        ("NVIDIA A10G", None, "sm_86"),
        ("NVIDIA RTX A6000", None, "sm_86"),
        ("Quadro RTX 6000", None, "sm_75"),
        ("NVIDIA RTX 6000 Ada Generation", None, "sm_89"),
        ("NVIDIA L40S", None, "sm_89"),
        ("NVIDIA GeForce RTX 5090", None, "sm_120"),
        ("NVIDIA B200", None, "sm_100"),
        ("Tesla V100-SXM2-16GB", None, "sm_70"),
        ("TITAN Xp", None, "sm_61"),
        ("Tesla K80", None, "sm_37"),
        ("Some Future GPU", "Hopper", "sm_90"),
        ("Some Ampere GPU", "Ampere", None),  # Ampere spans sm_80 and sm_86: no guess
        ("NVIDIA TITAN X", None, None),  # Maxwell and Pascal both sold as TITAN X
    ],
)
def test_nvidia_name_table(name: str, family: str | None, arch: str | None) -> None:
    assert nvidia_arch_for(name, family) == arch


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(
        [
            "torch_collect_env_cuda12.1_rtx4070_wsl2_head.txt",
            "torch_collect_env_rocm6.3_gfx1010_head.txt",
            "torch_collect_env_cpu_only_macos_torch2.2.2_email_wrapped.txt",
        ]
    ),
    st.integers(0, 2000),
    st.text(max_size=60),
)
def test_collect_env_survives_truncation_and_noise(name: str, cut: int, noise: str) -> None:
    text = fixture(name)[:cut] + noise
    collect_env.parse_collect_env(text)
    collect_env.torch_build(text)


def test_wsl_without_any_gpu_says_where_the_driver_comes_from(tmp_path: Path) -> None:
    from factories import snapshot

    from gator_setup.checks.platform import GpuInventory

    Sysroot(tmp_path).write("/proc/version", "Linux version 5.15.167.4-microsoft-standard-WSL2 (root@x)\n")
    facts = probe(tmp_path)
    assert facts.platform == "WSL2" and facts.gpus == ()
    (f,) = GpuInventory().run(snapshot(platform=facts))
    assert f.severity.label == "info" and "Windows" in (f.fix or "")
    assert f.evidence["source of platform"] == "/proc/version"


def test_short_listings_name_what_they_can(tmp_path: Path) -> None:
    facts = only_command(tmp_path, "nvidia-smi-L", "nvidia_smi_L_a100_mig_telegraf.txt")
    assert [(g.index, g.arch) for g in facts.gpus] == [(0, "sm_80"), (1, "sm_80"), (2, "sm_80"), (3, "sm_80")]
    xml = only_command(tmp_path / "x", "nvidia-smi-q", "nvidia_smi_q_xml_gtx1660ti_TRUNCATED.txt")
    assert [(g.name, g.arch) for g in xml.gpus] == [("GeForce GTX 1660 Ti", "sm_75")]
    assert (xml.nvidia_driver, xml.cuda_driver_api) == ("430.64", "10.1")
    amd = only_command(
        tmp_path / "a", "rocm-agent-enumerator", "rocm_agent_enumerator_gfx803_gfx902_llamacpp.txt"
    )
    assert [g.arch for g in amd.gpus] == ["gfx803", "gfx902"]  # gfx000 is the CPU agent


def test_agent_enumerator_fills_the_arch_rocm_smi_cannot_give(tmp_path: Path) -> None:
    text = fixture("transcript_rocminfo_permission_denied_rocm_smi_concise_groups.txt")
    s = Sysroot(tmp_path).command("rocm-smi", text.split("# rocm-smi\n")[1].split("# groups\n")[0])
    s.command("rocm-agent-enumerator", "gfx000\ngfx908\ngfx908\ngfx908\ngfx908\n")
    facts = probe(tmp_path)
    assert [(g.arch, g.source) for g in facts.gpus] == [("gfx908", "rocm-smi + rocm_agent_enumerator")] * 4


def test_container_marker_adds_the_device_flags_and_survives_a_bundle(tmp_path: Path) -> None:
    from gator_setup.core.bundle import bundle_entries, open_sysroot, write_bundle
    from gator_setup.probes.system import Recorder

    src = Sysroot(tmp_path / "src").write("/.dockerenv", "")
    src.write("/proc/version", "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@x)\n")
    src.write("/dev/dxg", "").write("/usr/lib/wsl/lib/libcuda.so.1", "")
    src.command("nvidia-smi", fixture("nvidia_smi_wsl2_rtx3060_cuda_err_garbled.txt"))
    rec = Recorder(ReplaySystem(src.root))
    first = probe_platform(rec, SITE, use_nvml=False)
    assert (first.container, first.platform, first.sources["container"]) == ("docker", "WSL2", "/.dockerenv")
    bundle = write_bundle(tmp_path / "b.tar.gz", bundle_entries(rec, SITE, {}, {}))
    again = probe(open_sysroot(bundle, tmp_path / "unpacked"))
    assert (again.container, again.platform) == ("docker", "WSL2")
    assert [(g.name, g.arch) for g in again.gpus] == [(g.name, g.arch) for g in first.gpus]


def test_lspci_paste_lists_the_cards_even_without_a_driver(tmp_path: Path) -> None:
    facts = only_command(tmp_path, "lspci", "lspci_nn_gtx970_mx130_intel_egpu.txt")
    # The Intel iGPU is no vendor gator checks; GM108 (MX130) is in no table: capability unknown.
    assert [(g.name, g.device_id, g.arch, g.source) for g in facts.gpus] == [
        ("GeForce MX130", "0x174d", None, "lspci"),
        ("GeForce GTX 970", "0x13c2", "sm_52", "lspci"),
    ]
    from gator_setup.probes.pci import parse_lspci

    amd = parse_lspci(
        "03:00.0 VGA compatible controller: Advanced Micro Devices, Inc. [AMD/ATI] Navi 31 "
        "[Radeon RX 7900 XT/7900 XTX] (rev c8)\n"
    )
    assert [(d.vendor, d.name) for d in amd] == [("amd", "Radeon RX 7900 XT/7900 XTX")]


def test_sysfs_pci_wins_over_a_recorded_lspci(tmp_path: Path) -> None:
    s = Sysroot(tmp_path)
    for f, v in (("class", "0x030000\n"), ("vendor", "0x1002\n"), ("device", "0x6860\n")):
        s.write(f"/sys/bus/pci/devices/0000:03:00.0/{f}", v)
    s.command("lspci", fixture("lspci_nn_gtx970_mx130_intel_egpu.txt"))
    facts = probe(tmp_path)
    assert [(g.vendor, g.arch, g.source) for g in facts.gpus] == [("amd", "gfx900", "PCI sysfs")]
