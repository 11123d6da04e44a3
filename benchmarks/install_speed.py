#!/usr/bin/env python3
"""Benchmark: `gator install-models` vs `hf download` from the same local server.

Measures (1) throughput installing the same multi-file model (4 safetensors shards + configs, with
.bin decoys that both tools skip) from `gator mirror`, and (2) bytes re-transferred when each tool
is interrupted (SIGINT) at 50% of the model and run again, counted server-side by a byte-counting
Hub-compatible server (tests/fake_hub.py).

    python benchmarks/install_speed.py [--shard-mb 64] [--shards 4] [--repeats 2]

Prints a table; nothing touches the internet (servers bind 127.0.0.1).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
REPO = "bench/model"
INCLUDE = ["*.json", "model-*.safetensors"]


def make_repo(folder: Path, shards: int, shard_mb: int) -> int:
    """A transformers-layout repo; returns the bytes of the selection both tools download."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "bench", "hidden_size": 8}))
    (folder / "tokenizer_config.json").write_text("{}")
    index = {"metadata": {}, "weight_map": {}}
    for i in range(1, shards + 1):
        name = f"model-{i:05d}-of-{shards:05d}.safetensors"
        (folder / name).write_bytes(os.urandom(shard_mb * 1024 * 1024))
        index["weight_map"][f"w{i}"] = name
        # Decoy duplicates in another format: neither tool should fetch them.
        (folder / f"pytorch_model-{i:05d}-of-{shards:05d}.bin").write_bytes(os.urandom(1024 * 1024))
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return sum(p.stat().st_size for p in folder.iterdir() if p.suffix in (".json", ".safetensors"))


def gator_cmd(endpoint: str, cache: Path, lock: Path) -> list[str]:
    return [sys.executable, "-m", "gator_setup", "install-models", REPO, "--endpoint", endpoint,
            "--cache-dir", str(cache), "--lock-file", str(lock)]  # fmt: skip


def hf_cmd(endpoint: str, cache: Path) -> list[str]:
    hf = shutil.which("hf", path=str(Path(sys.executable).parent)) or "hf"
    return [hf, "download", REPO, "--cache-dir", str(cache), *[a for p in INCLUDE for a in ("--include", p)]]


def env_for(endpoint: str) -> dict[str, str]:
    return dict(os.environ, HF_ENDPOINT=endpoint, HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=str(ROOT))


def timed(cmd: list[str], endpoint: str) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env_for(endpoint), check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def throughput(repo_dir: Path, size: int, repeats: int, work: Path) -> dict[str, float]:
    from gator_setup.mirror.config import MirrorConfig
    from gator_setup.mirror.ids import parse_repo_id
    from gator_setup.mirror.server import BackgroundServer
    from gator_setup.mirror.store import Store, import_folder

    storage = work / "mirror"
    import_folder(Store(storage), repo_dir, parse_repo_id(REPO, "model"), branch="main", private=False)
    server = BackgroundServer(MirrorConfig(storage=storage, host="127.0.0.1", port=0)).start()
    out: dict[str, float] = {}
    try:
        for tool in ("gator", "hf"):
            best = float("inf")
            for r in range(repeats):
                cache = work / f"tp-{tool}-{r}"
                cmd = (
                    gator_cmd(server.url, cache, work / f"{tool}{r}.lock")
                    if tool == "gator"
                    else hf_cmd(server.url, cache)
                )
                best = min(best, timed(cmd, server.url))
                shutil.rmtree(cache, ignore_errors=True)
            out[tool] = size / best / 1e6
    finally:
        server.stop()
    return out


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupted(repo_dir: Path, size: int, work: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """Signal each tool once the server has sent 50% of the model, run again; (first run sent, re-sent)."""
    from fake_hub import FakeHub

    out: dict[tuple[str, str], tuple[int, int]] = {}
    with FakeHub() as hub:
        hub.add(REPO, repo_dir)
        for sig, tool in [(s, t) for s in (signal.SIGINT, signal.SIGKILL) for t in ("gator", "hf")]:
            hub.reset_counts()
            cache = work / f"int-{tool}-{sig.name}"
            cmd = gator_cmd(hub.url, cache, work / "int.lock") if tool == "gator" else hf_cmd(hub.url, cache)
            # SIG_DFL: a benchmark started in the background (nohup, &) would pass on an ignored SIGINT.
            proc = subprocess.Popen(cmd, env=env_for(hub.url), cwd=ROOT, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, preexec_fn=_default_sigint)  # fmt: skip
            while hub.total_sent() < size // 2 and proc.poll() is None:
                time.sleep(0.002)
            proc.send_signal(sig)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            first = hub.total_sent()
            subprocess.run(cmd, env=env_for(hub.url), check=True, capture_output=True, cwd=ROOT)
            total = hub.total_sent()
            out[(tool, sig.name)] = (first, total - size)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--shard-mb", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gator-bench-"))
    try:
        repo = work / "repo"
        size = make_repo(repo, args.shards, args.shard_mb)
        print(f"model: {args.shards} shards x {args.shard_mb} MiB + configs = {size / 1e6:.1f} MB selected")
        tp = throughput(repo, size, args.repeats, work)
        print(f"throughput (best of {args.repeats}, gator mirror on 127.0.0.1):")
        for tool, mbps in tp.items():
            print(f"  {tool:<6} {mbps:8.1f} MB/s")
        res = interrupted(repo, size, work)
        print(
            "interrupted at 50% (SIGINT = Ctrl-C, SIGKILL = crash), run again; bytes counted by the server:"
        )
        for (tool, sig), (first, resent) in res.items():
            print(
                f"  {tool:<6} {sig:<7} first run sent {first / 1e6:7.1f} MB; "
                f"re-transferred {resent / 1e6:7.1f} MB "
                f"= {100 * resent / size:5.1f}% of the model"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
