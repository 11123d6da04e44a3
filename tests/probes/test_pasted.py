"""Telling which tool printed a paste: transcripts split at their prompts, bare outputs by content."""

from __future__ import annotations

import pytest
from gpu_sysroot import fixture
from hypothesis import given, settings
from hypothesis import strategies as st

from gator_setup.probes import pasted


@pytest.mark.parametrize(
    ("name", "targets"),
    [
        ("nvidia_smi_h100_535_gvisor_TRUNCATED.txt", ["nvidia-smi"]),
        ("nvidia_smi_b200_r610_kmd_umd_header.txt", ["nvidia-smi"]),
        ("nvidia_smi_q_t4_colab_460_TRUNCATED.txt", ["nvidia-smi-q"]),
        ("nvidia_smi_q_wsl2_gtx1650ti_wddm_TRUNCATED.txt", ["nvidia-smi-q"]),  # after "$ nvidia-smi -a"
        ("nvidia_smi_query_gpu_csv_titanv_rtx5880.txt", ["nvidia-smi-query"]),
        (
            "nvidia_smi_nvml_mismatch_and_proc_version.txt",
            ["nvidia-smi", "file:/proc/driver/nvidia/version"],
        ),
        ("proc_driver_nvidia_version_open_kernel_module_565.txt", ["file:/proc/driver/nvidia/version"]),
        ("rocminfo_gfx900_vega_rocm2.2_no_marketing_name_TRUNCATED.txt", ["rocminfo"]),
        ("rocminfo_gfx906_radeon_vii_flattened_garbled.txt", ["rocminfo"]),
        ("rocminfo_grep_mi25_mi100_mi210.txt", ["rocminfo"]),
        ("rocm_smi_showproductname_json_mi250x.txt", ["rocm-smi"]),
        ("rocm_smi_showproductname_csv_mi100_and_plain_fiji.txt", ["rocm-smi"] * 3),
        ("amd_smi_static_mi350x.txt", ["amd-smi"]),
        ("amd_smi_static_json_rx7800xt_TRUNCATED.txt", ["amd-smi"]),
        ("amd_smi_version_rocm6.4.1.txt", ["amd-smi-version"]),
        ("torch_collect_env_cpu_only_macos_torch2.2.2_email_wrapped.txt", ["collect-env"]),
        ("torch_collect_env_rocm6.3_gfx1010_head.txt", ["collect-env"]),
        ("ls_dev_kfd_dri_render_group.txt", ["devices", "devices"]),
        (
            "transcript_rocminfo_permission_denied_rocm_smi_concise_groups.txt",
            ["rocminfo", "rocm-smi", "groups"],
        ),
        ("nvidia_smi_L_a100_mig_telegraf.txt", ["nvidia-smi-L"]),  # bare "nvidia-smi -L" line, no prompt
        ("nvidia_smi_q_xml_gtx1660ti_TRUNCATED.txt", ["nvidia-smi-q"]),
        ("rocm_agent_enumerator_gfx803_gfx902_llamacpp.txt", ["rocm-agent-enumerator"]),  # "-> " prompt
        ("lspci_nn_gtx970_mx130_intel_egpu.txt", ["lspci"]),
        ("torch_version_py_2.2.0+cpu.txt", []),
        ("kfd_topology_node_properties_gfx1100_rx7900xtx_tinygrad.txt", []),
    ],
)
def test_real_pastes_are_classified(name: str, targets: list[str]) -> None:
    assert [p.target for p in pasted.pieces(fixture(name))] == targets


def test_prompt_forms() -> None:
    for prompt in ("$ ", "# ", "root:~# ", "[root@host log]# ", "(venv) alice@box:~/sd$ ", "❯ ", "!"):
        ((cmd, body),) = pasted.split_pasted(
            f"{prompt}/opt/rocm/bin/rocminfo --support\nROCk module is loaded\n"
        )
        assert cmd == "/opt/rocm/bin/rocminfo --support" and body == "ROCk module is loaded\n"
    # A table row or a quoted header is output, not a prompt.
    assert pasted.split_pasted("| NVIDIA-SMI 535.129.03 |\n")[0][0] is None
    assert pasted.classify("sudo nvidia-smi -q -d MEMORY", "") == ["nvidia-smi-q"]
    assert pasted.classify("nvidia-smi -L", "GPU 0: Tesla T4 (UUID: GPU-1)") == ["nvidia-smi-L"]
    assert pasted.classify(None, "gfx000\ngfx1100\n") == ["rocm-agent-enumerator"]
    # A bare tool line starts a part; prose that mentions a tool does not.
    assert [c for c, _ in pasted.split_pasted("rocm-smi --showallinfo\nx\nI ran rocminfo and\n")] == [
        "rocm-smi --showallinfo"
    ]


def test_rocminfo_and_rocm_smi_in_one_prompt_less_paste_both_get_it() -> None:
    text = fixture("rocminfo_grep_mi25_mi100_mi210.txt") + fixture("rocm_smi_showproductname_json_mi250x.txt")
    assert [p.target for p in pasted.pieces(text)] == ["rocminfo", "rocm-smi"]


def test_groups_id_and_device_listings() -> None:
    assert pasted.parse_groups("groups", "rocm-user sudo video\n") == (None, ["rocm-user", "sudo", "video"])
    assert pasted.parse_groups("groups", "alice : alice render\n") == ("alice", ["alice", "render"])
    assert pasted.parse_groups("id", "uid=1000(alice) gid=1000(alice) groups=1000(alice),44(video)\n") == (
        "alice",
        ["alice", "video"],
    )
    text = fixture("ls_dev_kfd_dri_render_group.txt")
    devs: dict[str, dict[str, str]] = {}
    for cmd, body in pasted.split_pasted(text):
        devs.update(pasted.parse_devices(cmd, body))
    assert devs["/dev/kfd"] == {"group": "render", "mode": "0660"}
    assert devs["/dev/dri/renderD128"] == {"group": "render", "mode": "0660"}
    assert devs["/dev/dri/card0"] == {"group": "video", "mode": "0660"}
    stat = (
        "  File: /dev/kfd\n  Size: 0  Blocks: 0\n"
        "Access: (0666/crw-rw-rw-)  Uid: (    0/    root)   Gid: (  989/  render)\n"
    )
    assert pasted.parse_devices("stat /dev/kfd", stat) == {"/dev/kfd": {"group": "render", "mode": "0666"}}
    # Only GPU nodes by exact name: a crafted listing cannot place files elsewhere in the replay.
    evil = "crw-rw---- 1 root render 1, 1 Aug 22 21:34 /dev/../../etc/kfd\n"
    assert pasted.parse_devices("ls -l /dev", evil) == {}


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_never_raises(text: str) -> None:
    for cmd, body in pasted.split_pasted(text):
        pasted.classify(cmd, body)
        pasted.parse_devices(cmd, body)
        pasted.parse_groups("id", body)
        pasted.parse_groups("groups", body)
