"""The issue's 'done when' against the real `gator mirror`: install, --verify load, lock, --locked."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mirror_server import import_repo, start_mirror
from tiny_models import DECOY_FILES, expected_fp16_selection

pytestmark = [pytest.mark.torch, pytest.mark.slow]

REPO = "stabilityai/stable-diffusion-xl-base-1.0"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def mirror(tiny_sdxl: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """gator mirror (local mode) serving the tiny pipeline as the SDXL repo; yields (url, commit)."""
    storage = tmp_path / "mirror"
    commit = import_repo(storage, tiny_sdxl, REPO)
    server = start_mirror(storage)
    try:
        yield server.url, commit
    finally:
        server.stop()


def _gator(args: list[str], endpoint: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HF_ENDPOINT=endpoint, HF_HUB_DISABLE_TELEMETRY="1")
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "gator_setup", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _snapshot(cache: Path, commit: str) -> dict[str, str]:
    snap = cache / f"models--{REPO.replace('/', '--')}" / "snapshots" / commit
    return {
        p.relative_to(snap).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(snap.rglob("*"))
        if p.is_file()
    }


def test_done_when_install_load_lock_and_reproduce(
    mirror: tuple[str, str], tiny_sdxl: Path, tmp_path: Path
) -> None:
    url, commit = mirror
    proc = _gator(
        ["install-models", "sdxl-1.0", "--verify", "load", "--cache-dir", str(tmp_path / "c1")], url, tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "loaded: StableDiffusionXLPipeline" in proc.stdout
    lock = tmp_path / "gator-models.lock"
    assert commit in lock.read_text()
    got = _snapshot(tmp_path / "c1", commit)
    assert set(got) == expected_fp16_selection(tiny_sdxl)
    assert not set(got) & set(DECOY_FILES)
    blobs = tmp_path / "c1" / f"models--{REPO.replace('/', '--')}" / "blobs"
    assert sum(p.stat().st_size for p in blobs.iterdir()) < 2.5e6  # fp16 only: the fp32 unet alone is 4 MB

    # Second machine: fresh cache, --locked, same bytes.
    proc2 = _gator(["install-models", "--locked", "--cache-dir", str(tmp_path / "c2")], url, tmp_path)
    assert proc2.returncode == 0, proc2.stderr
    assert _snapshot(tmp_path / "c2", commit) == got


def test_selection_is_within_what_diffusers_download_fetches(mirror: tuple[str, str], tmp_path: Path) -> None:
    url, _ = mirror
    proc = _gator(["install-models", "sdxl-1.0", "--dry-run", "--json"], url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    ours = set(json.loads(proc.stdout)["models"][0]["files"])
    script = (
        "import json, sys, pathlib\n"
        "from diffusers import DiffusionPipeline\n"
        "p = DiffusionPipeline.download(sys.argv[1], variant='fp16', cache_dir=sys.argv[2])\n"
        "root = pathlib.Path(p)\n"
        "print(json.dumps(sorted(x.relative_to(root).as_posix() for x in root.rglob('*') if x.is_file())))\n"
    )
    env = dict(os.environ, HF_ENDPOINT=url, HF_HUB_DISABLE_TELEMETRY="1")
    dl = subprocess.run(
        [sys.executable, "-c", script, REPO, str(tmp_path / "dcache")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert dl.returncode == 0, dl.stderr[-2000:]
    theirs = set(json.loads(dl.stdout.strip().splitlines()[-1]))
    assert ours <= theirs, ours - theirs
    # Same weights: diffusers loads exactly the fp16 safetensors we picked.
    assert {p for p in ours if p.endswith(".safetensors")} == {
        p for p in theirs if p.endswith((".safetensors", ".bin"))
    }
