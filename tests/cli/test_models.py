"""`gator models list|show`, `gator install-models` and the setup_ai_models.py wrapper: output and errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gator_setup.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
REPO = "stabilityai/stable-diffusion-xl-base-1.0"
CapSys = pytest.CaptureFixture[str]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def _no_user_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATOR_MODELS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hfcache"))


def test_models_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["models", "list"], capsys)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:6] == ["NAME", "KIND", "SIZE", "FITS", "INSTALLED", "GATED"]
    names = {r.split()[0] for r in rows}
    assert {"sdxl-1.0", "flux.1-dev", "llama-3.1-70b", "piper", "xtts-v2"} <= names
    flux = next(r for r in rows if r.startswith("flux.1-dev"))
    assert " yes " in flux  # gated


def test_models_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["models", "list", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["schema_version"] == 1
    row = next(m for m in data["models"] if m["name"] == "llama-3.1-8b")
    assert (
        row["gated"] is True
        and row["installed"] == "no"
        and row["repo"] == "meta-llama/Llama-3.1-8B-Instruct"
    )


def test_models_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["models", "show", "sdxl-1.0"], capsys)
    assert code == 0
    assert f"repo         {REPO}" in out and "variant      fp16" in out


@pytest.mark.parametrize("cmd", [["models", "show", "sdxl"], ["install-models", "sdxl"]])
def test_unknown_model_is_one_line_with_suggestion(
    cmd: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(cmd, capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Did you mean: sdxl-1.0" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["install-models", "sdxl-1.0", "--verify", "bogus"], "--verify must be one of"),
        (["install-models", "sdxl-1.0", "--for", "comfyui"], "needs --models-dir"),
        (["install-models"], "Name at least one model"),
    ],
)
def test_bad_options_are_usage_errors(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(args, capsys)
    assert code == 2 and needle in err and err.count("\n") == 1


def test_locked_without_lock_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["install-models", "--locked", "--lock-file", str(tmp_path / "x.lock")], capsys)
    assert code == 2 and "does not exist" in err


def test_install_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["install-models", "--help"], capsys)
    assert code == 0
    for opt in (
        "--variant",
        "--models-dir",
        "--for",
        "--endpoint",
        "--revision",
        "--dry-run",
        "--verify",
        "--locked",
    ):
        assert opt in out


@pytest.mark.torch
def test_dry_run_lists_files_and_writes_nothing(
    tiny_sdxl: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fake_hub import FakeHub

    monkeypatch.chdir(tmp_path)
    with FakeHub() as hub:
        hub.add(REPO, tiny_sdxl)
        code, out, err = run(
            [
                "install-models",
                "sdxl-1.0",
                "--dry-run",
                "--endpoint",
                hub.url,
                "--cache-dir",
                str(tmp_path / "c"),
            ],
            capsys,
        )
        assert hub.total_sent() < 2000
    assert code == 0, err
    assert out.startswith(f"would install sdxl-1.0: {REPO} @ ")
    assert "  unet/diffusion_pytorch_model.fp16.safetensors" in out
    assert "unet/model.onnx" not in out and "sd_xl_base_1.0.safetensors" not in out
    assert not (tmp_path / "gator-models.lock").exists()
    assert "18 files" in err


@pytest.mark.torch
def test_setup_ai_models_install_wrapper(tiny_sdxl: Path, tmp_path: Path) -> None:
    from fake_hub import FakeHub

    with FakeHub() as hub:
        hub.add(REPO, tiny_sdxl)
        env = dict(os.environ, HF_ENDPOINT=hub.url)
        proc = subprocess.run(
            [sys.executable, str(ROOT / "setup_ai_models.py"), "--install", "sdxl-1.0", "--models-dir", "m"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "m" / REPO / "unet" / "diffusion_pytorch_model.fp16.safetensors").is_file()
    assert (tmp_path / "gator-models.lock").is_file()


def test_setup_ai_models_models_dir_alone_is_an_error() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "setup_ai_models.py"), "--models-dir", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "--install" in proc.stderr


def _machine(monkeypatch: pytest.MonkeyPatch, ram: int | None, vram: int | None) -> None:
    from gator_setup.probes import memory

    facts = memory.MemoryFacts(ram, vram, ("GPU",) if vram else ())
    monkeypatch.setattr(memory, "memory_facts", lambda: facts)


def test_models_show_says_why_it_does_not_fit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _machine(monkeypatch, 23 * 10**9, None)
    code, out, _ = run(["models", "show", "llama-3.1-70b"], capsys)
    assert code == 0
    assert "fits         no: needs 160 GB RAM, this machine has 23 GB" in out


def test_models_list_fits_column_on_a_cpu_box(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _machine(monkeypatch, 24 * 2**30, None)
    code, out, _ = run(["models", "list"], capsys)
    fit = {line.split()[0]: line.split()[4] for line in out.splitlines()[1:] if line.strip()}
    assert code == 0
    assert fit["llama-3.1-70b"] == fit["mixtral-8x7b"] == fit["llama-3.1-8b"] == "no"
    assert fit["sdxl-1.0"] == "cpu" and fit["piper"] == "yes"
    assert "\033[" not in out  # not a terminal: no colour
    code, out, _ = run(["models", "list", "--json"], capsys)
    row = next(m for m in json.loads(out)["models"] if m["name"] == "qwen2.5-72b")
    assert row["fits"] == "no" and "160 GB RAM" in row["fits_reason"]


def test_models_list_has_colour_in_a_terminal(tmp_path: Path) -> None:
    from ptyrun import run_in_pty

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(GATOR_MODELS_FILE=str(tmp_path / "none.toml"), TERM="xterm")
    code, raw = run_in_pty([sys.executable, "-m", "gator_setup", "models", "list"], env=env)
    assert code == 0
    out = raw.decode()
    assert "\033[1mNAME" in out and ("\033[31m" in out or "\033[33m" in out or "\033[32m" in out)
    env["NO_COLOR"] = "1"
    plain = subprocess.run(
        [sys.executable, "-m", "gator_setup", "models", "list"], capture_output=True, text=True, env=env
    )
    assert "\033[" not in plain.stdout
