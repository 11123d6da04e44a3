"""End-to-end installs of the tiny SDXL-layout pipeline from a local Hub-compatible server, with faults."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from fake_hub import wait_for
from tiny_models import DECOY_FILES, expected_fp16_selection

from gator_setup.installers.errors import AccessError, ChecksumError, DiskSpaceError, LockMismatchError
from gator_setup.installers.install import InstallOptions, install_models
from gator_setup.installers.lockfile import read_lock

pytestmark = pytest.mark.torch

REPO = "stabilityai/stable-diffusion-xl-base-1.0"
UNET = "unet/diffusion_pytorch_model.fp16.safetensors"
ROOT = Path(__file__).resolve().parents[2]


def _opts(hub: Any, work: Path, **kw: Any) -> InstallOptions:
    base: dict[str, Any] = dict(
        names=("sdxl-1.0",),
        endpoint=hub.url,
        cache_dir=str(work / "cache"),
        lock_path=str(work / "gator-models.lock"),
        progress=False,
        catalog_path=str(work / "no-user-catalog.toml"),
    )
    base.update(kw)
    return InstallOptions(**base)


def _snapshot_bytes(cache: Path, commit: str) -> dict[str, str]:
    snap = cache / f"models--{REPO.replace('/', '--')}" / "snapshots" / commit
    return {
        p.relative_to(snap).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(snap.rglob("*"))
        if p.is_file()
    }


def test_installs_only_fp16_files_loads_and_locks(hub: Any, workdir: Path, tiny_sdxl: Path) -> None:
    res = install_models(_opts(hub, workdir))
    m = res.models[0]
    expected = expected_fp16_selection(tiny_sdxl)
    assert set(m.files) == expected
    # Byte-level: the server sent nothing but the selection (identical tokenizer files are one blob).
    assert set(hub.sent) <= expected
    assert not set(hub.sent) & set(DECOY_FILES)
    assert not any(p.endswith(".safetensors") and ".fp16." not in p for p in hub.sent)
    assert len(m.hashes) == len(expected)
    lock = read_lock(workdir / "gator-models.lock")["sdxl-1.0"]
    repo = hub.repos[REPO]
    assert lock.commit == repo.commit and lock.variant == "fp16"
    assert {f.path for f in lock.files} == expected
    unet = next(f for f in lock.files if f.path == UNET)
    assert unet.sha256 == hashlib.sha256((tiny_sdxl / UNET).read_bytes()).hexdigest()
    # refs/main written: from_pretrained("org/name") resolves offline.
    refs = workdir / "cache" / f"models--{REPO.replace('/', '--')}" / "refs" / "main"
    assert refs.read_text() == repo.commit

    # A second machine (fresh cache) with --locked gets the same bytes.
    hub.reset_counts()
    second = workdir / "second"
    (second / "cache").mkdir(parents=True)
    res2 = install_models(
        _opts(hub, second, names=(), locked=True, lock_path=str(workdir / "gator-models.lock"))
    )
    assert res2.models[0].commit == repo.commit
    first_bytes = _snapshot_bytes(workdir / "cache", repo.commit)
    assert _snapshot_bytes(second / "cache", repo.commit) == first_bytes
    assert set(first_bytes) == expected


def test_locked_fails_on_any_difference(hub: Any, workdir: Path, tiny_sdxl: Path) -> None:
    install_models(_opts(hub, workdir, verify="none"))
    lock_path = workdir / "gator-models.lock"
    text = lock_path.read_text()
    sha = hashlib.sha256((tiny_sdxl / UNET).read_bytes()).hexdigest()
    lock_path.write_text(text.replace(sha, "0" * 64))
    with pytest.raises(LockMismatchError, match="differs from the lock"):
        install_models(_opts(hub, workdir / "x", names=(), locked=True, lock_path=str(lock_path)))
    lock_path.write_text(text.replace(hub.repos[REPO].commit, "1" * 40))
    with pytest.raises(AccessError, match="not found"):
        install_models(_opts(hub, workdir / "x", names=(), locked=True, lock_path=str(lock_path)))


def test_corrupted_bytes_are_caught_and_not_kept(hub: Any, workdir: Path, tiny_sdxl: Path) -> None:
    hub.faults.corrupt.add(UNET)
    with pytest.raises(ChecksumError, match="checksum mismatch") as exc:
        install_models(_opts(hub, workdir))
    assert "\n" not in str(exc.value)
    sha = hashlib.sha256((tiny_sdxl / UNET).read_bytes()).hexdigest()
    storage = workdir / "cache" / f"models--{REPO.replace('/', '--')}"
    assert not (storage / "blobs" / sha).exists()
    assert not (workdir / "gator-models.lock").exists()
    hub.faults.corrupt.clear()
    res = install_models(_opts(hub, workdir))
    assert res.models[0].hashes[UNET] == sha


def test_disk_too_small_is_refused_before_downloading(hub: Any, workdir: Path) -> None:
    with pytest.raises(DiskSpaceError, match="Not enough disk space"):
        install_models(_opts(hub, workdir), free=lambda _p: 10_000_000)
    # Only the tiny model_index.json (read to plan the selection) crossed the wire.
    assert set(hub.sent) <= {"model_index.json"}


def test_gated_repo_says_where_to_accept_the_licence(hub: Any, workdir: Path) -> None:
    hub.faults.gated.add(REPO)
    with pytest.raises(AccessError) as exc:
        install_models(_opts(hub, workdir))
    msg = str(exc.value)
    assert "gated" in msg and f"/{REPO}" in msg and "HF_TOKEN" in msg and "\n" not in msg
    assert hub.total_sent() < 2000


def test_token_required_and_not_found(hub: Any, workdir: Path) -> None:
    hub.faults.needs_token.add(REPO)
    with pytest.raises(AccessError, match=r"HTTP 401.*HF_TOKEN"):
        install_models(_opts(hub, workdir))
    with pytest.raises(AccessError, match=r"not found .*HTTP 404"):
        install_models(_opts(hub, workdir, names=("nobody/nothing",)))


def test_interrupted_run_resumes_only_the_rest(hub: Any, workdir: Path, tiny_sdxl: Path) -> None:
    """Ctrl-C a real `gator install-models` mid-file; the next run transfers only the missing bytes."""
    size = (tiny_sdxl / UNET).stat().st_size
    hub.faults.stall_after[UNET] = size // 2
    cmd = [sys.executable, "-m", "gator_setup", "install-models", "sdxl-1.0", "--endpoint", hub.url]
    cmd += ["--cache-dir", str(workdir / "cache"), "--lock-file", str(workdir / "gator-models.lock")]
    sha = hashlib.sha256((tiny_sdxl / UNET).read_bytes()).hexdigest()
    part = workdir / "cache" / f"models--{REPO.replace('/', '--')}" / "blobs" / f"{sha}.incomplete"
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert hub.stalled.wait(120), "the client never reached the stall point"
        # Ctrl-C once the client has written what it received (the server is now hanging mid-file).
        assert wait_for(lambda: part.is_file() and part.stat().st_size >= size // 2, 30)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    have = part.stat().st_size
    assert have == size // 2
    assert not (workdir / "gator-models.lock").exists()

    hub.faults.stall_after.clear()
    hub.reset_counts()
    res = install_models(_opts(hub, workdir))
    assert res.models[0].hashes[UNET] == sha
    assert hub.sent[UNET] == size - have
    assert (UNET, have) in hub.ranges


def test_concurrent_installs_do_not_corrupt_each_other(hub: Any, workdir: Path, tiny_sdxl: Path) -> None:
    cmd = [sys.executable, "-m", "gator_setup", "install-models", "sdxl-1.0", "--endpoint", hub.url]
    cmd += ["--cache-dir", str(workdir / "cache")]
    procs = [
        subprocess.Popen(
            [*cmd, "--lock-file", str(workdir / f"lock{i}")],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    commit = hub.repos[REPO].commit
    got = _snapshot_bytes(workdir / "cache", commit)
    for rel, digest in got.items():
        assert digest == hashlib.sha256((tiny_sdxl / rel).read_bytes()).hexdigest()
    # The weights crossed the wire once: the second process found them in the cache.
    assert hub.gets[UNET] == 1


def test_models_dir_and_comfyui_layout(hub: Any, workdir: Path, tiny_sdxl: Path) -> None:
    res = install_models(_opts(hub, workdir, models_dir=str(workdir / "models")))
    local = workdir / "models" / REPO
    assert res.models[0].location == str(local)
    assert (local / UNET).read_bytes() == (tiny_sdxl / UNET).read_bytes()
    comfy = workdir / "ComfyUI"
    (comfy / "models" / "checkpoints").mkdir(parents=True)
    install_models(
        _opts(hub, workdir, names=("sdxl-1.0-checkpoint",), models_dir=str(comfy), for_app="comfyui")
    )
    ckpt = comfy / "models" / "checkpoints" / "sd_xl_base_1.0.safetensors"
    assert ckpt.read_bytes() == (tiny_sdxl / "sd_xl_base_1.0.safetensors").read_bytes()


def test_threads_in_one_process_share_the_lock(hub: Any, workdir: Path) -> None:
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            install_models(_opts(hub, workdir, lock_path=str(workdir / f"l{i}"), verify="checksum"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
