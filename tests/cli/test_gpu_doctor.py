"""The issue's done-when cases: replay the MI25 + ROCm 5.7 box with broken stacks through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gpu_sysroot import mi25_rocm57

from gator_setup.cli.app import main

TORCH_ROCM57 = "pip install torch==2.2.0+rocm5.7 --index-url https://download.pytorch.org/whl/rocm5.7"


def doctor_json(capsys: pytest.CaptureFixture[str], root: Path, *extra: str) -> tuple[int, dict]:
    code = main(
        [
            "doctor",
            "--profile",
            "gator-rocm5.7",
            "--sysroot",
            str(root),
            "--json",
            "--project",
            str(root),
            *extra,
        ]
    )
    out = capsys.readouterr().out
    return code, json.loads(out)


def flat(report: dict) -> list[dict]:
    """Every finding, including those grouped under another with the same root cause (`related`)."""
    return [g for f in report["findings"] for g in (f, *f.get("related", []))]


def by_code(report: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in flat(report):
        out.setdefault(f["check"], []).append(f)
    return out


def test_cuda_wheel_on_mi25_names_wheel_and_rocm57_command(capsys, tmp_path: Path) -> None:
    mi25_rocm57(tmp_path, torch="cuda")
    code, rep = doctor_json(capsys, tmp_path)
    found = by_code(rep)
    assert code == 1
    (f201,) = found["GTR201"]
    assert f201["severity"] == "error" and "2.2.1+cu121" in f201["message"] and "CUDA" in f201["message"]
    assert f201["fix"] == TORCH_ROCM57
    (f311,) = found["GTR311"]
    assert "torch==2.2.0+rocm5.7" in f311["message"] and f311["fix"] == TORCH_ROCM57
    assert "GTR207" not in found and "GTR205" not in found
    gpus = rep["context"]["platform"]["gpus"]
    assert gpus == [
        {
            "vendor": "amd",
            "name": "Radeon Instinct MI25",
            "arch": "gfx900",
            "vram_bytes": 17163091968,
            "device_id": "0x6860",
            "compute_units": 64,
            "source": "kfd topology",
        }
    ]


def test_rocm_wheel_with_numpy2_gives_numpy_error_and_fix(capsys, tmp_path: Path) -> None:
    mi25_rocm57(tmp_path, torch="rocm", numpy="2.0.2")
    code, rep = doctor_json(capsys, tmp_path)
    found = by_code(rep)
    assert code == 1
    (f207,) = found["GTR207"]
    assert "numpy 2.0.2" in f207["message"] and "Numpy is not available" in f207["message"]
    assert f207["fix"] == 'pip install -c constraints/gator-rocm5.7.txt "numpy<2"'
    assert [f["packages"] for f in found["GTR312"]] == [["numpy"]]
    assert "GTR201" not in found and "GTR311" not in found and "GTR202" not in found


def test_user_outside_render_group_gets_usermod(capsys, tmp_path: Path) -> None:
    mi25_rocm57(tmp_path, torch="rocm", in_render=False)
    code, rep = doctor_json(capsys, tmp_path)
    found = by_code(rep)
    assert code == 1
    (f205,) = found["GTR205"]
    assert "alice cannot open /dev/kfd (render 0660), /dev/dri/renderD128" in f205["message"]
    assert f205["fix"].startswith('sudo usermod -aG render,video "$USER"')
    errors = [f["check"] for f in rep["findings"] if f["severity"] == "error"]
    assert errors == ["GTR205"]


def test_all_three_problems_are_distinct_findings(capsys, tmp_path: Path) -> None:
    mi25_rocm57(tmp_path, torch="cuda", numpy="2.0.2", in_render=False)
    _, rep = doctor_json(capsys, tmp_path)
    errors = {f["check"] for f in flat(rep) if f["severity"] == "error"}
    assert {"GTR201", "GTR205", "GTR207", "GTR311", "GTR312"} <= errors


def test_healthy_gator_box_passes(capsys, tmp_path: Path) -> None:
    mi25_rocm57(tmp_path, torch="rocm")
    code, rep = doctor_json(capsys, tmp_path)
    assert code == 0, rep["findings"]
    msgs = [f["message"] for f in rep["findings"]]
    assert any("Radeon Instinct MI25 (gfx900) 16 GiB" in m and "ROCm 5.7.1" in m for m in msgs)


def test_fix_prints_exact_commands_and_changes_nothing(capsys, tmp_path: Path) -> None:
    mi25_rocm57(tmp_path, torch="cuda", numpy="2.0.2", in_render=False)
    code = main(["fix", "--profile", "gator-rocm5.7", "--sysroot", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0
    cmds = [ln for ln in out.splitlines() if not ln.startswith("# ") or ln.startswith("# run yourself")]
    assert cmds == [
        TORCH_ROCM57,
        "pip install -c constraints/gator-rocm5.7.txt 'numpy<2'",
        '# run yourself: sudo usermod -aG render,video "$USER"  # then log out and back in '
        "(or run `newgrp render` in one shell)",
    ]
    assert "--apply" in err


def test_fix_apply_refuses_sysroot(capsys, tmp_path: Path) -> None:
    mi25_rocm57(tmp_path, torch="cuda")
    code = main(["fix", "--profile", "gator-rocm5.7", "--sysroot", str(tmp_path), "--apply"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--sysroot" in err


def test_unknown_profile_is_one_line_listing_available(capsys, tmp_path: Path) -> None:
    code = main(["doctor", "--profile", "rocm57", "--project", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "Available: cpu, cuda12.1, gator-rocm5.7" in err


def test_no_gpu_machine_says_so_plainly(capsys, tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    code = main(["doctor", "--sysroot", str(tmp_path), "--json", "--project", str(tmp_path)])
    rep = json.loads(capsys.readouterr().out)
    (f200,) = [f for f in rep["findings"] if f["check"] == "GTR200"]
    assert f200["severity"] == "info" and f200["message"].startswith("No GPU found")
    assert rep["summary"]["checks_run"] >= 10 and code in (0, 1)


def test_bundle_roundtrip_replays_the_same_verdict(capsys, tmp_path: Path) -> None:
    """--save-bundle of a replayed-like tree... via the live recorder on a sysroot view."""
    from gator_setup.core.bundle import bundle_entries, open_sysroot, write_bundle
    from gator_setup.probes.platform import probe_platform
    from gator_setup.probes.system import Recorder, ReplaySystem

    src = tmp_path / "src"
    mi25_rocm57(src, torch="cuda", in_render=False)
    (src / ".gator" / "env.json").write_text(json.dumps({"HSA_TOKEN_X": "hf_abcdefghijklmnopqrstuvwxyz"}))
    rec = Recorder(ReplaySystem(src))
    probe_platform(rec, ["/.gator/site-packages"])
    entries = bundle_entries(rec, ["/.gator/site-packages"], {}, rec.env())
    assert "hf_abc" not in json.dumps(entries)
    bundle = write_bundle(tmp_path / "b.tar.gz", entries)
    unpacked = open_sysroot(bundle, tmp_path / "unpacked")
    code, rep = doctor_json(capsys, unpacked)
    assert code == 1
    assert {"GTR201", "GTR205", "GTR311"} <= {f["check"] for f in rep["findings"] if f["severity"] == "error"}


def test_save_bundle_on_this_machine_writes_a_replayable_tar(capsys, tmp_path: Path) -> None:
    bundle = tmp_path / "here.tar.gz"
    code = main(["doctor", "--save-bundle", str(bundle), "--json", "--project", str(tmp_path)])
    first = json.loads(capsys.readouterr().out)
    assert bundle.is_file() and code in (0, 1)
    main(["doctor", "--sysroot", str(bundle), "--json", "--project", str(tmp_path)])
    second = json.loads(capsys.readouterr().out)
    gpu_msgs = [[f["message"] for f in r["findings"] if f["check"] == "GTR200"] for r in (first, second)]
    assert gpu_msgs[0] == gpu_msgs[1]
    assert not list(tmp_path.glob(".gator-bundle-*"))


def test_help_lists_the_gpu_options(capsys) -> None:
    assert main(["doctor", "--help"]) == 0
    out = capsys.readouterr().out
    for opt in ("--profile", "--deep", "--sysroot", "--save-bundle"):
        assert opt in out
    assert main(["fix", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--apply" in out and "gator fix --profile gator-rocm5.7 --apply" in out


def test_bad_sysroot_is_one_line_error(capsys, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    for target in (junk, tmp_path / "missing"):
        code = main(["doctor", "--sysroot", str(target), "--project", str(tmp_path)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
