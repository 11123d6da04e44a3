"""probe_platform over replayed sysroots: fallbacks, hangs, garbage, NVIDIA, no GPU."""

from __future__ import annotations

from pathlib import Path

from gpu_sysroot import CPU_NODE, Sysroot, fixture, mi25_properties, mi25_rocm57

from gator_setup.probes.platform import probe_platform
from gator_setup.probes.system import LiveSystem, ReplaySystem

SITE = ["/.gator/site-packages"]


def probe(root: Path):
    return probe_platform(ReplaySystem(root), SITE, use_nvml=False)


def test_mi25_from_kfd_uses_device_id_table_and_reads_files_only(tmp_path: Path) -> None:
    mi25_rocm57(tmp_path)
    Sysroot(tmp_path).hang("rocminfo")  # would time out if it were run: files must suffice
    facts = probe(tmp_path)
    (gpu,) = facts.gpus
    assert (gpu.arch, gpu.name, gpu.device_id, gpu.render_node) == (
        "gfx900",
        "Radeon Instinct MI25",
        "0x6860",
        "/dev/dri/renderD128",
    )
    assert facts.rocm_version == "5.7.1" and facts.rocm_source == "/opt/rocm-5.7.1/.info/version"
    assert [n.path for n in facts.device_nodes] == ["/dev/kfd", "/dev/dri/renderD128"]
    assert all(n.readable_writable for n in facts.device_nodes)
    assert facts.ram_bytes == 65746296 * 1024 and facts.torch.kind == "rocm"
    assert not any("rocminfo" in u for u in facts.unavailable)


def test_no_kfd_falls_back_to_rocminfo_then_smi(tmp_path: Path) -> None:
    s = Sysroot(tmp_path).write("/dev/kfd", "")
    s.command("rocminfo", fixture("rocminfo_grep_mi25_mi100_mi210.txt"))
    facts = probe(tmp_path)
    assert [g.arch for g in facts.gpus] == ["gfx900", "gfx908", "gfx90a", "gfx90a"]
    assert facts.gpus[0].source == "rocminfo"
    s.hang("rocminfo").command("amd-smi", fixture("amd_smi_static_json_rx7800xt_TRUNCATED.txt"))
    facts = probe(tmp_path)
    assert [g.arch for g in facts.gpus] == ["gfx1101"] and facts.gpus[0].source == "amd-smi"
    assert any("rocminfo did not finish within 10 s" in u for u in facts.unavailable)


def test_rocminfo_permission_failure_becomes_a_denied_kfd_node(tmp_path: Path) -> None:
    s = Sysroot(tmp_path).write("/dev/kfd", "")
    s.command(
        "rocminfo",
        "ROCk module is loaded\nUnable to open /dev/kfd read-write: Permission denied\n"
        "Failed to get user name to check for video group membership\n",
        rc=1,
    )
    s.command("rocm-smi", fixture("rocm_smi_showproductname_json_mi250x.txt"))
    facts = probe(tmp_path)
    # Not a driver failure: the node exists and this user may not open it (GTR205 gives the fix).
    assert facts.driver_errors == ()
    (kfd,) = facts.device_nodes
    assert (kfd.path, kfd.exists, kfd.readable_writable) == ("/dev/kfd", True, False)
    assert kfd.source == "rocminfo: Permission denied" and facts.nameless_user
    assert [(g.arch, g.source) for g in facts.gpus] == [("gfx90a", "rocm-smi")]  # device id 0x7408 -> table


def test_garbage_and_non_utf8_outputs_give_clear_results(tmp_path: Path) -> None:
    s = Sysroot(tmp_path).write("/dev/kfd", "")
    s.kfd_node(1, b"\xff\xfe\x00garbage\nsimd_count banana\n")
    s.command("rocminfo", b"\x89PNG\r\n\x1a\n\xff\xff")
    s.command("amd-smi", b'{"gpu_data": [ {"gpu": 0, "asic": {"market_')
    s.command("rocm-smi", b"")
    facts = probe(tmp_path)
    assert facts.gpus == ()
    assert any(u.startswith("GPU: none found") for u in facts.unavailable)


def test_rocm_version_from_header_and_symlinked_dir(tmp_path: Path) -> None:
    s = Sysroot(tmp_path).kfd_node(1, mi25_properties())
    s.write(
        "/opt/rocm-5.7.0/include/rocm-core/rocm_version.h",
        "#define ROCM_VERSION_MAJOR 5\n#define ROCM_VERSION_MINOR 7\n#define ROCM_VERSION_PATCH 0\n",
    )
    assert probe(tmp_path).rocm_version == "5.7.0"


def test_kfd_newer_kernel_vram_from_mem_bank(tmp_path: Path) -> None:
    s = Sysroot(tmp_path).kfd_node(0, CPU_NODE)
    s.kfd_node(1, fixture("kfd_topology_node_properties_gfx1100_rx7900xtx_tinygrad.txt"))
    s.write(
        "/sys/class/kfd/kfd/topology/nodes/1/mem_banks/0/properties",
        "heap_type 1\nsize_in_bytes 25753026560\n",
    )
    (gpu,) = probe(tmp_path).gpus
    assert gpu.arch == "gfx1100" and gpu.vram_bytes == 25753026560 and gpu.render_node is None


def test_nvidia_replay_query_plain_and_proc(tmp_path: Path) -> None:
    s = Sysroot(tmp_path).write(
        "/proc/driver/nvidia/version", fixture("proc_driver_nvidia_version_open_kernel_module_565.txt")
    )
    s.command("nvidia-smi-query", "0, NVIDIA GeForce RTX 4090, 565.57.01, 24564, 8.9\n")
    s.command("nvidia-smi", fixture("nvidia_smi_b200_r610_kmd_umd_header.txt"))
    facts = probe(tmp_path)
    (gpu,) = facts.gpus
    assert (gpu.vendor, gpu.arch, facts.nvidia_driver, facts.cuda_driver_api) == (
        "nvidia",
        "sm_89",
        "565.57.01",
        "13.3",
    )


def test_nvidia_old_driver_retries_without_compute_cap(tmp_path: Path) -> None:
    s = Sysroot(tmp_path).write(
        "/proc/driver/nvidia/version",
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  470.182.03  Fri Feb 24 2023\n",
    )
    s.command("nvidia-smi-query", 'Field "compute_cap" is not a valid field to query.\n', rc=2)
    s.command("nvidia-smi-query-nocap", "0, Tesla T4, 470.182.03, 15109\n")
    (gpu,) = probe(tmp_path).gpus
    # The old driver cannot say the capability; the name table can (T4 is Turing, sm_75).
    assert gpu.name == "Tesla T4" and gpu.arch == "sm_75" and "name table" in gpu.source


def test_nvidia_mismatch_and_pci_only_detection(tmp_path: Path) -> None:
    s = Sysroot(tmp_path)
    for f, v in (("class", "0x030200\n"), ("vendor", "0x10de\n"), ("device", "0x1eb8\n")):
        s.write(f"/sys/bus/pci/devices/0000:00:04.0/{f}", v)
    s.command("nvidia-smi-query", fixture("nvidia_smi_nvml_mismatch_and_proc_version.txt"), rc=18)
    s.command("nvidia-smi", "Failed to initialize NVML: Driver/library version mismatch\n", rc=18)
    facts = probe(tmp_path)
    assert [(g.name, g.arch, g.source) for g in facts.gpus] == [("Tesla T4", "sm_75", "PCI sysfs")]
    assert facts.driver_errors == ("Failed to initialize NVML: Driver/library version mismatch",)


def test_live_probe_on_this_machine_never_raises() -> None:
    facts = probe_platform(LiveSystem(), [])
    assert facts.torch.unavailable == "torch is not installed in this environment"
    assert isinstance(facts.gpus, tuple)


def test_live_command_missing_and_hanging(tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / "rocminfo"
    fake.write_text("#!/bin/sh\nwhile :; do :; done\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    res = LiveSystem().run("rocminfo", timeout=0.3)
    assert res.unavailable == "rocminfo did not finish within 0 s" and not res.ok
    missing = LiveSystem().run("nvidia-smi").unavailable or ""
    assert missing.startswith("nvidia-smi is not installed (not on PATH") and "/usr/lib/wsl/lib" in missing


def test_kfd_vram_joined_with_drm_card_by_pci_slot(tmp_path: Path) -> None:
    s = Sysroot(tmp_path)
    s.kfd_node(1, fixture("kfd_topology_node_properties_gfx1100_rx7900xtx_tinygrad.txt"))  # location_id 34304
    s.write("/sys/class/drm/card0/device/uevent", "DRIVER=amdgpu\nPCI_SLOT_NAME=0000:03:00.0\n")
    s.write("/sys/class/drm/card0/device/mem_info_vram_total", "8573157376\n")
    s.write("/sys/class/drm/card1/device/uevent", "DRIVER=amdgpu\nPCI_SLOT_NAME=0000:86:00.0\n")
    s.write("/sys/class/drm/card1/device/mem_info_vram_total", "25753026560\n")
    s.write("/sys/class/drm/renderD128/device/uevent", "PCI_SLOT_NAME=0000:86:00.0\n")
    (gpu,) = probe(tmp_path).gpus
    assert gpu.vram_bytes == 25753026560
