"""AMD parsers on real captures, on variants they were not tuned to, and under fuzzing."""

from __future__ import annotations

import pytest
from gpu_sysroot import fixture, mi25_properties
from hypothesis import given, settings
from hypothesis import strategies as st

from gator_setup.probes import amd_parse as ap


@pytest.mark.parametrize(
    ("value", "gfx"),
    [
        (90000, "gfx900"),
        (90006, "gfx906"),
        (90008, "gfx908"),
        (90010, "gfx90a"),
        (90012, "gfx90c"),
        (90402, "gfx942"),
        (100300, "gfx1030"),
        (110000, "gfx1100"),
        (110501, "gfx1151"),
        (120001, "gfx1201"),
        (0, None),
        (-5, None),
        (91600, None),
        (90016, None),
        (None, None),
    ],
)
def test_gfx_target_version_decoding(value: int | None, gfx: str | None) -> None:
    assert ap.decode_gfx_target_version(value) == gfx


def test_override_spelling_roundtrip() -> None:
    assert ap.hsa_override_for("gfx1030") == "10.3.0"
    assert ap.hsa_override_for("gfx90a") == "9.0.10"
    assert ap.parse_override("9.0.0") == "gfx900" and ap.parse_override(" 11.0.0 ") == "gfx1100"
    assert ap.parse_override("gfx900") is None and ap.parse_override("") is None


def test_kfd_gfx1100_node_with_template_placeholder() -> None:
    props = ap.parse_kfd_properties(fixture("kfd_topology_node_properties_gfx1100_rx7900xtx_tinygrad.txt"))
    assert props["drm_render_minor"] is None  # '{drm_render_minor}' in the source, tolerated
    gpu = ap.gpu_from_kfd(props)
    assert gpu is not None and gpu.gfx == "gfx1100" and gpu.compute_units == 96 and gpu.device_id == 0x744C


def test_kfd_without_gfx_target_version_keeps_device_id() -> None:
    gpu = ap.gpu_from_kfd(
        ap.parse_kfd_properties(
            fixture("kfd_topology_node1_properties_rx470_gfx803_no_gfx_target_version.txt")
        )
    )
    assert gpu is not None and gpu.gfx is None and gpu.device_id == 26591 and gpu.render_minor == 128


def test_mi25_rvs_dump_parses_both_raw_and_prefixed() -> None:
    raw = ap.gpu_from_kfd(ap.parse_kfd_properties(mi25_properties()))
    prefixed = ap.gpu_from_kfd(ap.parse_kfd_properties(fixture("rvs_gpup_mi25_kfd_properties_doc.txt")))
    assert raw is not None and raw.device_id == 0x6860 and raw.compute_units == 64
    assert raw.vram_bytes == 17163091968 and prefixed is not None and prefixed.device_id == raw.device_id


def test_kfd_cpu_node_and_variants() -> None:
    assert ap.gpu_from_kfd(ap.parse_kfd_properties("cpu_cores_count 16\nsimd_count 0\n")) is None
    crlf = "simd_count 256\r\nsimd_per_cu 4\r\nvendor_id 4098\r\ngfx_target_version 90000\r\n"
    gpu = ap.gpu_from_kfd(ap.parse_kfd_properties(crlf))
    assert gpu is not None and gpu.gfx == "gfx900" and gpu.compute_units == 64
    nvidia_node = "simd_count 10\nvendor_id 4318\n"
    assert ap.gpu_from_kfd(ap.parse_kfd_properties(nvidia_node)) is None


def test_rocminfo_full_capture() -> None:
    res = ap.parse_rocminfo(fixture("rocminfo_gfx1030_rx6900xt_rocm6.3.3.txt"))
    (gpu,) = res.gpus
    assert gpu.gfx == "gfx1030" and gpu.name == "AMD Radeon RX 6900 XT" and gpu.device_id == 0x73BF
    assert gpu.compute_units == 80 and gpu.vram_bytes == 16760832 * 1024 and gpu.node == 1


def test_rocminfo_grep_outputs() -> None:
    res = ap.parse_rocminfo(fixture("rocminfo_grep_mi25_mi100_mi210.txt"))
    assert [g.gfx for g in res.gpus] == ["gfx900", "gfx908", "gfx90a", "gfx90a"]
    assert res.gpus[0].name == "Radeon Instinct MI25"
    mixed = ap.parse_rocminfo(fixture("rocminfo_grep_gfx1100_gfx900_mixed_rocm6.4.2.txt"))
    assert [(g.gfx, g.name) for g in mixed.gpus] == [
        ("gfx1100", "Radeon RX 7900 GRE"),
        ("gfx900", "Radeon RX Vega"),
    ]


def test_rocminfo_failure_is_reported_not_raised() -> None:
    res = ap.parse_rocminfo(fixture("rocminfo_kfd_cannot_allocate_memory_pitcairn.txt"))
    assert res.gpus == () and res.error == "cannot open /dev/kfd: Cannot allocate memory"


def test_rocminfo_variants_not_in_fixtures() -> None:
    text = (
        "ROCk module version 6.10.5 is loaded\n*******\nAgent 2 [391/1815]\n*******\n"
        "  Name:gfx90a:sramecc+:xnack-\n  Marketing Name:\n  Device Type: GPU\n"
        "  Chip ID:                 29704(0x7408)\n  Compute Unit:   104\n"
        "  Pool Info:\n    Pool 1\n      Segment:                 GLOBAL; FLAGS:\n"
        "      Size:                    67092480(0x3ffc000) KB\n"
    )
    res = ap.parse_rocminfo(text)
    assert res.driver_version == "6.10.5"
    (gpu,) = res.gpus
    assert gpu.gfx == "gfx90a" and gpu.name is None and gpu.device_id == 0x7408 and gpu.compute_units == 104
    assert gpu.vram_bytes == 67092480 * 1024
    truncated = fixture("rocminfo_gfx1030_rx6900xt_rocm6.3.3.txt")[:2500]
    assert ap.parse_rocminfo(truncated).gpus == ()  # cut before the GPU agent: nothing, no error


def test_amd_smi_json_with_warnings_and_truncation() -> None:
    (gpu,) = ap.parse_amd_smi_static(fixture("amd_smi_static_json_rx7800xt_TRUNCATED.txt"))
    assert gpu.gfx == "gfx1101" and gpu.name == "AMD Radeon RX 7800 XT" and gpu.device_id == 0x747E
    complete = (
        '[{"gpu": 0, "asic": {"market_name": "AMD Instinct MI210", "device_id": "0x740f", '
        '"num_compute_units": 104, "target_graphics_version": "gfx90a"}}]'
    )
    (old,) = ap.parse_amd_smi_static("WARNING: something\n" + complete)
    assert old.gfx == "gfx90a" and old.compute_units == 104


def test_amd_smi_text_and_version() -> None:
    (gpu,) = ap.parse_amd_smi_static(fixture("amd_smi_static_mi350x.txt"))
    assert gpu.gfx == "gfx950" and gpu.name == "AMD Instinct MI350X" and gpu.compute_units == 128
    assert ap.parse_amd_smi_version(fixture("amd_smi_version_rocm6.4.1.txt")) == ("6.4.1", "6.10.5")
    assert ap.parse_amd_smi_version("AMDSMI Tool: N/A | ROCm version: N/A") == (None, None)


def test_rocm_smi_json_csv_and_plain() -> None:
    (j,) = ap.parse_rocm_smi_product(fixture("rocm_smi_showproductname_json_mi250x.txt"))
    assert j.device_id == 0x7408 and j.gfx is None  # never trust "gfx9010"
    (old,) = ap.parse_rocm_smi_product(fixture("rocm_smi_showproductname_mi100_rocm4.0.txt"))
    assert old.device_id == 0x738C
    csv_and_plain = ap.parse_rocm_smi_product(
        fixture("rocm_smi_showproductname_csv_mi100_and_plain_fiji.txt")
    )
    assert [g.name for g in csv_and_plain] == ["Arcturus GL-XL [AMD Instinct MI100]"] * 2 + [
        "Fiji [Radeon R9 FURY / NANO Series]"
    ]


def test_rocm_version_sources() -> None:
    assert ap.parse_rocm_version_file("6.3.4-76\n") == "6.3.4"
    assert ap.parse_rocm_version_file("7.14.0") == "7.14.0"
    assert ap.parse_rocm_version_file("\n\ngarbage\n") is None
    header = "#define ROCM_VERSION_MAJOR 5\n#define ROCM_VERSION_MINOR 7\n#define ROCM_VERSION_PATCH 1\n"
    assert ap.parse_rocm_version_header(header) == "5.7.1"
    assert ap.parse_rocm_version_header("#define ROCM_VERSION_MAJOR 5\n") is None


_ALL_FIXTURES = [
    "rocminfo_gfx1030_rx6900xt_rocm6.3.3.txt",
    "amd_smi_static_mi350x.txt",
    "rocm_smi_showproductname_json_mi250x.txt",
    "kfd_topology_node_properties_gfx1100_rx7900xtx_tinygrad.txt",
    "rocminfo_gfx906_radeon_vii_flattened_garbled.txt",
    "rocminfo_gfx900_vega_rocm2.2_no_marketing_name_TRUNCATED.txt",
    "transcript_rocminfo_permission_denied_rocm_smi_concise_groups.txt",
    "transcript_rocminfo_invalid_argument_rocm_smi_showallinfo_mi300x_TRUNCATED.txt",
]
_PARSERS = [
    ap.parse_rocm_smi_driver,
    ap.parse_amd_smi_driver,
    ap.parse_rocminfo,
    ap.parse_amd_smi_static,
    ap.parse_rocm_smi_product,
    ap.parse_kfd_properties,
    ap.parse_amd_smi_version,
    ap.parse_rocm_version_file,
    ap.parse_rocm_version_header,
]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_parsers_never_raise_on_arbitrary_text(text: str) -> None:
    for parse in _PARSERS:
        parse(text)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_ALL_FIXTURES), st.integers(0, 5000), st.binary(max_size=40))
def test_parsers_survive_truncated_and_corrupted_captures(name: str, cut: int, noise: bytes) -> None:
    text = fixture(name)[:cut] + noise.decode("utf-8", "replace")
    for parse in _PARSERS:
        parse(text)


def test_rocm_smi_variants_and_driver_lines() -> None:
    text = fixture("transcript_rocminfo_permission_denied_rocm_smi_concise_groups.txt")
    concise = text.split("# rocm-smi\n")[1]
    assert [g.device_id for g in ap.parse_rocm_smi_product(concise)] == [None] * 4  # count only
    allinfo = fixture("transcript_rocminfo_invalid_argument_rocm_smi_showallinfo_mi300x_TRUNCATED.txt")
    (mi300,) = ap.parse_rocm_smi_product(allinfo.split("--showallinfo\n")[1])
    assert (mi300.name, mi300.device_id) == ("AMD Instinct MI300X OAM", 0x74A1)
    assert ap.parse_rocm_smi_driver(allinfo) == "6.7.0"
    assert ap.parse_amd_smi_driver(fixture("amd_smi_static_mi350x.txt")) == "6.18.3"
    assert (
        ap.parse_amd_smi_driver('{"gpu": 0, "driver": {"name": "amdgpu", "version": "6.10.5"}}') == "6.10.5"
    )
    # "GFX Version" is trusted only where the naive print cannot mislead (gfx9010 is gfx90a).
    plain = "GPU[0]\t\t: Card series: \t\tVega 20\nGPU[0]\t\t: GFX Version: \t\tgfx906\n"
    assert [g.gfx for g in ap.parse_rocm_smi_product(plain)] == ["gfx906"]
    assert [g.gfx for g in ap.parse_rocm_smi_product(plain.replace("gfx906", "gfx9010"))] == [None]


def test_rocminfo_user_and_group_lines() -> None:
    res = ap.parse_rocminfo(
        "ROCk module is loaded\nUnable to open /dev/kfd read-write: Permission denied\n"
        'root is not member of "nogroup" group, the default DRM access group. Users must be a member\n'
    )
    assert (res.kfd_error, res.user, res.group, res.user_in_group) == (
        "Permission denied",
        "root",
        "nogroup",
        False,
    )
    res = ap.parse_rocminfo(fixture("rocminfo_kfd_cannot_allocate_memory_pitcairn.txt"))
    assert res.kfd_error == "Cannot allocate memory" and res.user_in_group is True and not res.no_user_name
