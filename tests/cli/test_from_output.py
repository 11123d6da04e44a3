"""The issue's done-when: a pasted nvidia-smi or rocminfo alone names the GPU, its arch and driver,
through `--sysroot DIR` (a tree holding only `.gator/commands/<key>.txt`) and `--from-output FILE`."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from gpu_sysroot import FIXTURES, Sysroot, fixture

from gator_setup.cli.app import main

RENDER_FIX = 'sudo usermod -aG render,video "$USER"'

# (fixture, command key it is the output of, vendor, name, arch, driver field, driver)
CASES = [
    (
        "nvidia_smi_h100_535_gvisor_TRUNCATED.txt",
        "nvidia-smi",
        "NVIDIA H100 80GB HBM3",
        "sm_90",
        "535.129.03",
    ),
    ("nvidia_smi_t4_smi450_driver418_mismatch.txt", "nvidia-smi", "Tesla T4", "sm_75", "418.67"),
    ("nvidia_smi_q_t4_colab_460_TRUNCATED.txt", "nvidia-smi-q", "Tesla T4", "sm_75", "460.32.03"),
    (
        "nvidia_smi_wsl2_rtx3060_cuda_err_garbled.txt",
        "nvidia-smi",
        "NVIDIA GeForce RTX 3060 ...",
        "sm_86",
        "546.80",
    ),
    (
        "rocminfo_gfx900_vega_rocm2.2_no_marketing_name_TRUNCATED.txt",
        "rocminfo",
        "Radeon RX Vega 56/64",
        "gfx900",
        None,
    ),
    ("rocminfo_gfx906_radeon_vii_flattened_garbled.txt", "rocminfo", "AMD Radeon VII", "gfx906", None),
    ("rocminfo_gfx1100_rx7900xtx_ollama_TRUNCATED.txt", "rocminfo", "Radeon RX 7900 XTX", "gfx1100", None),
]


def doctor(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, dict]:
    code = main(["doctor", "--json", "--project", str(tmp_path), *args])
    return code, json.loads(capsys.readouterr().out)


def gtr(rep: dict, code: str) -> list[dict]:
    return [f for f in rep["findings"] if f["check"] == code]


@pytest.mark.parametrize(("name", "key", "gpu", "arch", "driver"), CASES)
def test_one_paste_names_gpu_arch_and_driver_both_ways(
    capsys, tmp_path: Path, name, key, gpu, arch, driver
) -> None:
    root = tmp_path / "tree"
    Sysroot(root).command(key, fixture(name))
    paste = tmp_path / "paste.txt"
    paste.write_text(fixture(name))
    results = [
        doctor(capsys, tmp_path, "--sysroot", str(root)),
        doctor(capsys, tmp_path, "--from-output", str(paste)),
    ]
    for code, rep in results:
        plat = rep["context"]["platform"]
        assert (plat["gpus"][0]["name"], plat["gpus"][0]["arch"]) == (gpu, arch)
        vendor = plat["gpus"][0]["vendor"]
        assert plat["nvidia_driver" if vendor == "nvidia" else "amdgpu_driver"] == driver
        (f200,) = gtr(rep, "GTR200")
        assert f200["severity"] == "info" and f200["message"].startswith(f"{len(plat['gpus'])} GPU(s)")
        assert code == 0
    assert results[0][1]["context"]["platform"]["gpus"] == results[1][1]["context"]["platform"]["gpus"]


def test_wsl2_paste_is_named_and_its_driver_fix_points_at_windows(capsys, tmp_path: Path) -> None:
    paste = tmp_path / "smi.txt"
    paste.write_text(fixture("nvidia_smi_q_wsl2_gtx1650ti_wddm_TRUNCATED.txt"))
    code, rep = doctor(capsys, tmp_path, "--from-output", str(paste))
    plat = rep["context"]["platform"]
    assert (
        plat["platform"] == "WSL2" and plat["nvidia_driver"] == "510.06" and plat["cuda_driver_api"] == "11.6"
    )
    assert "WSL2" in gtr(rep, "GTR200")[0]["message"]
    assert plat["sources"]["nvidia_driver"] == "nvidia-smi -q"
    # A broken driver under WSL: the fix is the Windows driver, never a Linux one.
    broken = tmp_path / "broken.txt"
    broken.write_text(
        "$ uname -a\nLinux pc 5.15.153.1-microsoft-standard-WSL2 #1 SMP x86_64 GNU/Linux\n"
        "$ nvidia-smi\nFailed to initialize NVML: Driver/library version mismatch\n"
    )
    code, rep = doctor(capsys, tmp_path, "--from-output", str(broken))
    (err,) = [f for f in gtr(rep, "GTR200") if f["severity"] == "error"]
    assert "Windows" in err["fix"] and "modprobe" not in err["fix"] and code == 1


def test_json_carries_the_derived_ids_and_counts(capsys, tmp_path: Path) -> None:
    paste = tmp_path / "p.txt"
    paste.write_text(fixture("rocminfo_gfx1100_rx7900xtx_ollama_TRUNCATED.txt"))
    _, rep = doctor(capsys, tmp_path, "--from-output", str(paste))
    (gpu,) = rep["context"]["platform"]["gpus"]
    assert (gpu["device_id"], gpu["compute_units"], gpu["source"]) == ("0x744c", 96, "rocminfo")


def test_collect_env_paste_brings_the_torch_build(capsys, tmp_path: Path) -> None:
    paste = tmp_path / "env.txt"
    paste.write_text(fixture("torch_collect_env_rocm6.3_gfx1010_head.txt"))
    _, rep = doctor(capsys, tmp_path, "--from-output", str(paste))
    plat = rep["context"]["platform"]
    assert plat["gpus"][0]["arch"] == "gfx1010" and plat["torch"]["kind"] == "rocm"
    assert (
        plat["torch"]["version"] == "2.7.0.dev20250123+rocm6.3" and plat["torch"]["source"] == "collect_env"
    )


def test_permission_denied_rocminfo_beside_rocm_smi_gives_the_render_group_fix(
    capsys, tmp_path: Path
) -> None:
    paste = tmp_path / "session.txt"
    paste.write_text(fixture("transcript_rocminfo_permission_denied_rocm_smi_concise_groups.txt"))
    code, rep = doctor(capsys, tmp_path, "--from-output", str(paste))
    assert code == 1
    (f205,) = gtr(rep, "GTR205")
    assert f205["severity"] == "error" and "/dev/kfd" in f205["message"]
    assert f205["fix"].startswith(RENDER_FIX)
    assert "--group-add render" in f205["fix"]  # the uid had no name: a container
    assert f205["evidence"]["groups"] == "rocm-user, sudo, video"
    assert "lack render" in f205["message"]  # from the pasted `groups`
    assert "4 x AMD GPU [rocm-smi]" in gtr(rep, "GTR200")[0]["message"]
    assert len(rep["context"]["platform"]["gpus"]) == 4
    assert not [f for f in gtr(rep, "GTR200") if f["severity"] == "error"]  # not a driver failure
    # The same two outputs as a hand-made tree.
    root = tmp_path / "tree"
    text = fixture("transcript_rocminfo_permission_denied_rocm_smi_concise_groups.txt")
    info, rest = text.split("# rocminfo\n")[1].split("# rocm-smi\n")
    Sysroot(root).command("rocminfo", info, rc=1).command("rocm-smi", rest.split("# groups\n")[0])
    code, rep = doctor(capsys, tmp_path, "--sysroot", str(root))
    assert code == 1 and gtr(rep, "GTR205")[0]["fix"].startswith(RENDER_FIX)


def test_invalid_argument_is_not_sent_to_the_render_group(capsys, tmp_path: Path) -> None:
    paste = tmp_path / "p.txt"
    paste.write_text(
        fixture("transcript_rocminfo_invalid_argument_rocm_smi_showallinfo_mi300x_TRUNCATED.txt")
    )
    code, rep = doctor(capsys, tmp_path, "--from-output", str(paste))
    assert code == 1
    (err,) = [f for f in gtr(rep, "GTR200") if f["severity"] == "error"]
    assert "Invalid argument" in err["message"] and "usermod" not in err["fix"]
    assert rep["context"]["platform"]["gpus"][0]["arch"] == "gfx942" and not gtr(rep, "GTR205")


def test_several_files_and_stdin(capsys, tmp_path: Path, monkeypatch) -> None:
    a, b = tmp_path / "smi.txt", tmp_path / "proc.txt"
    shutil.copy(FIXTURES / "nvidia_smi_q_t4_colab_460_TRUNCATED.txt", a)
    b.write_text(fixture("proc_driver_nvidia_version_open_kernel_module_565.txt"))
    _, rep = doctor(capsys, tmp_path, "--from-output", str(a), "--from-output", str(b))
    plat = rep["context"]["platform"]
    # /proc/driver/nvidia/version is read before any tool: it gives the driver, the -q paste the GPU.
    assert (
        plat["nvidia_driver"] == "565.57.01"
        and plat["sources"]["nvidia_driver"] == "/proc/driver/nvidia/version"
    )
    assert plat["gpus"][0]["arch"] == "sm_75"
    monkeypatch.setattr(
        "sys.stdin",
        io.TextIOWrapper(io.BytesIO(fixture("rocminfo_gfx1100_rx7900xtx_ollama_TRUNCATED.txt").encode())),
    )
    _, rep = doctor(capsys, tmp_path, "--from-output", "-")
    assert rep["context"]["platform"]["gpus"][0]["arch"] == "gfx1100"


def test_local_packages_are_not_mixed_into_a_paste(capsys, tmp_path: Path) -> None:
    paste = tmp_path / "p.txt"
    paste.write_text(fixture("nvidia_smi_t4_smi450_driver418_mismatch.txt"))
    _, rep = doctor(capsys, tmp_path, "--from-output", str(paste))
    assert rep["context"]["platform"]["torch"]["version"] is None


def test_bad_inputs_are_one_line_errors(capsys, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("my GPU does not work, please help\n")
    for args in (
        ["--from-output", str(junk)],
        ["--from-output", str(tmp_path / "missing.txt")],
        ["--from-output", str(junk), "--sysroot", str(tmp_path)],
    ):
        code = main(["doctor", "--project", str(tmp_path), *args])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    main(["doctor", "--project", str(tmp_path), "--from-output", str(junk)])
    assert "rocminfo" in capsys.readouterr().err  # says what it can read


def test_no_gpu_is_information_not_a_pass(capsys, tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    _, rep = doctor(capsys, tmp_path, "--sysroot", str(tmp_path), "--only", "GTR200")
    (check,) = [c for c in rep["checks"] if c["code"] == "GTR200"]
    assert check["status"] == "info"
    (f200,) = gtr(rep, "GTR200")
    assert f200["severity"] == "info" and f200["message"].startswith("No GPU found")


def test_wsl2_driver_age_uses_the_windows_minimum(capsys, tmp_path: Path) -> None:
    real = fixture("torch_collect_env_cuda12.1_rtx4070_wsl2_head.txt")
    paste = tmp_path / "env.txt"
    paste.write_text(real)
    _, rep = doctor(capsys, tmp_path, "--from-output", str(paste))
    assert not gtr(rep, "GTR204")  # Windows driver 551.88 runs cu121
    # The same report with a Windows driver below 527.41 (a Linux 525.x would pass; Windows needs more).
    paste.write_text(real.replace("Nvidia driver version: 551.88", "Nvidia driver version: 526.98"))
    code, rep = doctor(capsys, tmp_path, "--from-output", str(paste))
    (f204,) = gtr(rep, "GTR204")
    assert code == 1 and "526.98" in f204["message"] and "Windows" in f204["fix"]
