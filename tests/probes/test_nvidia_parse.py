"""NVIDIA parsers on real captures, on header/layout variants, and under fuzzing."""

from __future__ import annotations

from gpu_sysroot import fixture
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gator_setup.probes import nvidia_parse as npz


def test_proc_version_open_and_proprietary_modules() -> None:
    assert (
        npz.parse_proc_version(fixture("proc_driver_nvidia_version_open_kernel_module_565.txt"))
        == "565.57.01"
    )
    mismatch = fixture("nvidia_smi_nvml_mismatch_and_proc_version.txt").split(
        "# cat /proc/driver/nvidia/version\n"
    )[1]
    assert npz.parse_proc_version(mismatch) == "580.173.02"
    assert (
        npz.parse_proc_version("NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  35.3.1  Release")
        == "35.3.1"
    )
    assert npz.parse_proc_version("") is None


def test_query_csv_with_header_in_any_order() -> None:
    gpus, err = npz.parse_query_csv(fixture("nvidia_smi_query_gpu_csv_titanv_rtx5880.txt"))
    assert err is None
    assert [(g.index, g.name, g.arch, g.driver) for g in gpus] == [
        (0, "NVIDIA TITAN V", "sm_70", "570.86.15"),
        (1, "NVIDIA RTX 5880 Ada Generation", "sm_89", "570.86.15"),
    ]


def test_query_csv_noheader_nounits_and_blank_fields() -> None:
    text = "0, NVIDIA GeForce RTX 4090, 550.54.14, 24564, 8.9\n1, Tesla T4, 550.54.14, [N/A], \n"
    gpus, _ = npz.parse_query_csv(text)
    assert gpus[0].vram_bytes == 24564 * 1024**2 and gpus[0].arch == "sm_89"
    assert gpus[1].name == "Tesla T4" and gpus[1].vram_bytes is None and gpus[1].arch is None
    units = "index, name, driver_version, memory.total [MiB]\n0, A100-SXM4-80GB, 535.129.03, 81920 MiB\n"
    (a100,), _ = npz.parse_query_csv(units)
    assert a100.vram_bytes == 81920 * 1024**2 and a100.arch is None


def test_query_csv_old_driver_refuses_compute_cap() -> None:
    gpus, err = npz.parse_query_csv('Field "compute_cap" is not a valid field to query.\n')
    assert gpus == [] and err is not None and "compute_cap" in err


def test_plain_nvidia_smi_both_header_generations() -> None:
    b200 = npz.parse_nvidia_smi(fixture("nvidia_smi_b200_r610_kmd_umd_header.txt"))
    assert (b200.driver, b200.cuda) == ("610.43.02", "13.3")
    assert b200.gpus[0].name == "NVIDIA B200" and b200.gpus[0].vram_bytes == 183359 * 1024**2
    t4 = npz.parse_nvidia_smi(fixture("nvidia_smi_t4_smi450_driver418_mismatch.txt"))
    assert (t4.driver, t4.cuda) == ("418.67", "10.1")  # the Driver Version field, not the 450 banner
    assert t4.gpus[0].name == "Tesla T4"


def test_plain_nvidia_smi_failures() -> None:
    res = npz.parse_nvidia_smi(fixture("nvidia_smi_nvml_mismatch_and_proc_version.txt"))
    assert res.error == "Failed to initialize NVML: Driver/library version mismatch"
    res = npz.parse_nvidia_smi(
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    )
    assert res.error is not None and "not loaded" in res.error


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
@example("¹,")  # str.isdigit() is True for superscripts; int() is not (found by this test)
def test_parsers_never_raise(text: str) -> None:
    npz.parse_proc_version(text)
    npz.parse_query_csv(text)
    npz.parse_nvidia_smi(text)
    npz.parse_nvidia_smi_q(text)
    npz.parse_nvidia_smi_list(text)


_CAPTURES = [
    "nvidia_smi_h100_535_gvisor_TRUNCATED.txt",
    "nvidia_smi_q_t4_colab_460_TRUNCATED.txt",
    "nvidia_smi_q_wsl2_gtx1650ti_wddm_TRUNCATED.txt",
    "nvidia_smi_wsl2_rtx3060_cuda_err_garbled.txt",
    "nvidia_smi_b200_r610_kmd_umd_header.txt",
    "nvidia_smi_q_xml_gtx1660ti_TRUNCATED.txt",
    "nvidia_smi_L_a100_mig_telegraf.txt",
]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_CAPTURES), st.integers(0, 3000), st.binary(max_size=40))
def test_parsers_survive_truncated_and_corrupted_captures(name: str, cut: int, noise: bytes) -> None:
    text = fixture(name)[:cut] + noise.decode("utf-8", "replace")
    npz.parse_nvidia_smi(text)
    npz.parse_nvidia_smi_q(text)
    npz.parse_nvidia_smi_list(text)
    npz.parse_query_csv(text)


def test_nvidia_smi_q_reads_gpus_versions_and_driver_model() -> None:
    t4 = npz.parse_nvidia_smi_q(fixture("nvidia_smi_q_t4_colab_460_TRUNCATED.txt"))
    assert (t4.driver, t4.cuda, t4.windows_driver) == ("460.32.03", "11.2", False)
    assert [(g.name, g.family, g.vram_bytes) for g in t4.gpus] == [("Tesla T4", None, None)]
    wsl = npz.parse_nvidia_smi_q(fixture("nvidia_smi_q_wsl2_gtx1650ti_wddm_TRUNCATED.txt"))
    assert wsl.windows_driver and wsl.gpus[0].family == "Turing"
    mem = "Driver Version : 550.54.14\nGPU 00000000:01:00.0\n    FB Memory Usage\n        Total : 24564 MiB\n"
    assert npz.parse_nvidia_smi_q(mem).gpus[0].vram_bytes == 24564 * 1024**2
    # "CUDA Version : Not Found" (a vGPU host) is not a version.
    assert npz.parse_nvidia_smi_q("Driver Version : 580.105.06\nCUDA Version : Not Found\n").cuda is None


def test_plain_table_name_cut_short_and_windows_rows() -> None:
    wsl = npz.parse_nvidia_smi(fixture("nvidia_smi_wsl2_rtx3060_cuda_err_garbled.txt"))
    (gpu,) = wsl.gpus
    assert (gpu.name, gpu.truncated, wsl.cuda, wsl.driver) == (
        "NVIDIA GeForce RTX 3060",
        True,
        None,
        "546.80",
    )
    # nvidia-smi.exe on Windows (rows from microsoft/WSL#9134): the driver model replaces Persistence-M.
    windows = (
        "| NVIDIA-SMI 517.48       Driver Version: 517.48       CUDA Version: 11.7     |\n"
        "| GPU  Name            TCC/WDDM | Bus-Id        Disp.A | Volatile Uncorr. ECC |\n"
        "|   0  NVIDIA GeForce ... WDDM  | 00000000:0A:00.0  On |                  N/A |\n"
        "|  0%   31C    P8    16W / 250W |    576MiB / 11264MiB |      0%      Default |\n"
    )
    res = npz.parse_nvidia_smi(windows)
    assert res.windows_driver and res.gpus[0].vram_bytes == 11264 * 1024**2 and res.gpus[0].truncated
