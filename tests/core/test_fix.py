"""gator fix: plan from the snapshot, run only with --apply, stop at the first failing command."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpu_sysroot import mi25_rocm57

from gator_setup.cli.app import main
from gator_setup.core.fix import FixFailed, FixOptions, apply_plan, plan_fix


def test_plan_orders_torch_then_pins_then_manual(tmp_path: Path) -> None:
    mi25_rocm57(tmp_path, torch="cpu", numpy="2.1.0", in_render=False)
    (tmp_path / ".gator/site-packages/huggingface_hub-1.2.0.dist-info").mkdir(parents=True)
    (tmp_path / ".gator/site-packages/huggingface_hub-1.2.0.dist-info/METADATA").write_text(
        "Metadata-Version: 2.1\nName: huggingface-hub\nVersion: 1.2.0\n"
    )
    plan = plan_fix(FixOptions(profile="gator-rocm5.7", sysroot=str(tmp_path)))
    shown = [s.display for s in plan.steps]
    assert shown[0] == "pip install torch==2.2.0+rocm5.7 --index-url https://download.pytorch.org/whl/rocm5.7"
    assert shown[1].startswith("pip install -c constraints/gator-rocm5.7.txt") and "'numpy<2'" in shown[1]
    assert "'huggingface_hub<1.0,>=0.24'" in shown[1]
    assert shown[2].startswith("sudo usermod -aG render,video")
    assert len(plan.runnable) == 2


def test_apply_runs_pip_of_the_target_and_stops_at_failure(tmp_path: Path) -> None:
    mi25_rocm57(tmp_path, torch="cuda", numpy="2.0.2")
    plan = plan_fix(FixOptions(profile="gator-rocm5.7", sysroot=str(tmp_path)))
    calls: list[list[str]] = []
    pip = [plan.python, "-m", "pip"]
    assert apply_plan(plan, runner=lambda argv: calls.append(argv) or 0, log=lambda _: None, pip=pip) == 2
    assert calls[0][1:4] == ["-m", "pip", "install"] and calls[0][0] == plan.python
    calls.clear()
    uv = ["/bin/uv", "pip"]
    apply_plan(plan, runner=lambda argv: calls.append(argv) or 0, log=lambda _: None, pip=uv)
    assert calls[0][:5] == ["/bin/uv", "pip", "install", "--python", plan.python]
    calls.clear()
    with pytest.raises(FixFailed) as exc:
        apply_plan(plan, runner=lambda argv: calls.append(argv) or 1, log=lambda _: None, pip=pip)
    assert len(calls) == 1 and "later steps were not run" in str(exc.value)


def test_fix_on_this_machine_with_matching_profile_does_nothing(capsys, tmp_path: Path, monkeypatch) -> None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("torch")
    except PackageNotFoundError:
        found = "none"
    if found != "2.13.0+cpu":
        pytest.skip(f"needs the torch 2.13.0+cpu wheel, found {found}")
    monkeypatch.chdir(tmp_path)
    code = main(["fix", "--profile", "cpu"])
    out = capsys.readouterr().out
    assert code == 0 and "already matches profile cpu" in out


def test_fix_unknown_profile_one_line(capsys) -> None:
    code = main(["fix", "--profile", "gator-rocm57"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "gator-rocm5.7" in err


def test_pip_command_falls_back_to_uv_for_pipless_venvs(tmp_path: Path, monkeypatch) -> None:
    import shutil

    from gator_setup.core.fix import pip_command

    monkeypatch.setattr(shutil, "which", lambda name: "/bin/uv" if name == "uv" else None)
    no_pip = tmp_path / "nopip"
    no_pip.write_text("#!/bin/sh\nexit 1\n")
    no_pip.chmod(0o755)
    with_pip = tmp_path / "withpip"
    with_pip.write_text("#!/bin/sh\nexit 0\n")
    with_pip.chmod(0o755)
    assert pip_command(str(no_pip)) == ["/bin/uv", "pip"]
    assert pip_command(str(with_pip)) == [str(with_pip), "-m", "pip"]
