"""Throughput and latency of `gator mirror` against nginx (the disk/kernel limit) and olah (a peer).

Serves the same files from all three on 127.0.0.1 and measures, in one run:
  * a cached large file (default 1 GiB): curl download speed, best of --runs;
  * many small files: requests/s and p50/p99 latency with 8 concurrent keep-alive clients;
  * single-flight: 32 concurrent clients on an uncached file behind a pull-through gator, counting
    the upstream requests it causes;
  * cold pull-through vs a direct download from the same upstream, each file fetched once through the
    cache, both ways with curl to /dev/null (transfer only), curl to a file next to the store (a download
    that keeps the file, as every Hub client does) and huggingface_hub's hf_hub_download into a fresh
    cache (the client users run; needs huggingface_hub in this interpreter); with --upstream-rate,
    again through a proxy that paces the upstream to that rate (e.g. 125m: a 1 Gbit/s link), both
    arms through the proxy;
  * the ceilings of a verifying cache on this machine, in the same run: sha256 on one core (every byte is
    checked before the blob is published) and writing the same amount into the store's file system.

Before every timed cold or direct transfer a scratch file of twice the size is written and deleted, the
same for both arms: on VMs that return freed memory to the host, first-touch page faults otherwise
swing page-cache writes by 3x from one run to the next.

    python benchmarks/mirror_speed.py [--big-mb 1024] [--small 500] [--olah PATH/olah-cli]
                                      [--upstream-rate 125m] [--json]

nginx comes from the system (`apt-get install -y nginx`), olah from PyPI in its own venv
(`uv venv .venvs/olah && uv pip install --python .venvs/olah/bin/python olah`); either is skipped
(n/a) when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gator_setup.mirror.ids import parse_repo_id  # noqa: E402
from gator_setup.mirror.store import Store, import_folder  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30) -> None:
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def write_big(path: Path, mb: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as fh:
        for i in range(mb):
            fh.write(block[i % 7 :] + block[: i % 7])


def curl_speed(url: str, runs: int) -> dict[str, float]:
    speeds = []
    for _ in range(runs):
        out = subprocess.run(
            ["curl", "-sSfL", "-o", "/dev/null", "-w", "%{speed_download} %{time_starttransfer}", url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        speeds.append((float(out[0]), float(out[1])))
    best = max(speeds)
    return {"MBps": round(best[0] / 1e6, 1), "ttfb_ms": round(best[1] * 1000, 2)}


def curl_to_file(url: str, dest: Path) -> float:
    """MB/s of one download saved to `dest` (removed afterwards)."""
    out = subprocess.run(
        ["curl", "-sSfL", "-o", str(dest), "-w", "%{speed_download}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    dest.unlink()
    return round(float(out) / 1e6, 1)


def wait_published(store: Path, count: int, timeout: float = 60) -> None:
    """Wait until `store` holds `count` blobs: the mirror fsyncs and renames after the client is served,
    and the next measurement should not share the machine with that."""
    end = time.time() + timeout
    while time.time() < end and sum(1 for _ in (store / "blobs").glob("*/*")) < count:
        time.sleep(0.05)


HF_DOWNLOAD = """
import sys, time
from huggingface_hub import hf_hub_download
t0 = time.perf_counter()
path = hf_hub_download("acme/cold", sys.argv[1], revision=sys.argv[2], cache_dir=sys.argv[3])
print(time.perf_counter() - t0)
"""


def hf_download(endpoint: str, filename: str, sha: str, work: Path, mb: int) -> float:
    """MB/s of huggingface_hub's hf_hub_download of one file into a fresh cache (removed afterwards)."""
    cache = work / "hf-cache"
    env = {**os.environ, "HF_ENDPOINT": endpoint, "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "0"}
    env.pop("HF_TOKEN", None)
    out = subprocess.run(
        [sys.executable, "-c", HF_DOWNLOAD, filename, sha, str(cache)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    shutil.rmtree(cache, ignore_errors=True)
    return round(mb * (1 << 20) / float(out.split()[-1]) / 1e6, 1)


def settle(work: Path, mb: int) -> None:
    """Write and delete a scratch file of `mb` MiB so both arms start from the same memory state."""
    scratch = work / "scratch.bin"
    block = bytes(1 << 20)
    with open(scratch, "wb") as fh:
        for _ in range(mb):
            fh.write(block)
    scratch.unlink()


def sha256_rate(mb: int = 512) -> float:
    """MB/s of hashlib sha256 on one core (what the mirror runs over every fetched byte)."""
    import hashlib

    block = os.urandom(4 << 20)
    h = hashlib.sha256()
    t0 = time.perf_counter()
    for _ in range(mb // 4):
        h.update(block)
    return round(mb * (1 << 20) / (time.perf_counter() - t0) / 1e6, 1)


def write_rate(folder: Path, mb: int) -> float:
    """MB/s of writing `mb` MiB (4 MiB writes, no fsync) into `folder`: what storing a blob costs."""
    dest = folder / "write-rate.bin"
    block = os.urandom(4 << 20)
    t0 = time.perf_counter()
    with open(dest, "wb") as fh:
        for _ in range(max(mb // 4, 1)):
            fh.write(block)
    rate = mb * (1 << 20) / (time.perf_counter() - t0) / 1e6
    dest.unlink()
    return round(rate, 1)


class RateProxy:
    """A TCP proxy in a background thread that paces upstream -> client bytes with a token bucket.

    Stands for a real upstream link (e.g. 125 MB/s: 1 Gbit/s). Both arms of the comparison go through
    it; requests pass unpaced. Bucket depth 50 ms, so idle keep-alive time is not saved up as a burst.
    """

    def __init__(self, upstream_port: int, port: int, rate: float) -> None:
        import threading

        self.upstream_port, self.port, self.rate = upstream_port, port, rate
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(10)

    async def _serve(self) -> None:
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", self.port)

    async def _conn(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        ureader, uwriter = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def requests() -> None:
            while data := await creader.read(1 << 16):
                uwriter.write(data)
                await uwriter.drain()
            uwriter.close()

        async def responses() -> None:
            depth = self.rate * 0.05
            tokens, last = depth, time.perf_counter()
            while data := await ureader.read(1 << 16):
                now = time.perf_counter()
                tokens = min(depth, tokens + (now - last) * self.rate) - len(data)
                last = now
                if tokens < 0:
                    await asyncio.sleep(-tokens / self.rate)
                cwriter.write(data)
                await cwriter.drain()
            cwriter.close()

        await asyncio.gather(requests(), responses(), return_exceptions=True)

    async def _shutdown(self) -> None:
        self.server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


def parse_rate(text: str) -> float:
    """Bytes/s from '125m' / '1g' / '500k' (decimal units, as link speeds are quoted)."""
    units = {"k": 1e3, "m": 1e6, "g": 1e9}
    text = text.strip().lower()
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


async def _small(urls: list[str], conc: int = 8) -> dict[str, float]:
    import aiohttp

    lat: list[float] = []
    queue = list(urls)
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while queue:
                url = queue.pop()
                t0 = time.perf_counter()
                async with session.get(url) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"{url}: {r.status}")
                lat.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        wall = time.perf_counter() - t0
    lat.sort()
    return {
        "req_per_s": round(len(urls) / wall),
        "p50_ms": round(statistics.median(lat) * 1000, 2),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 2),
    }


def small_files(urls: list[str]) -> dict[str, float]:
    asyncio.run(_small(urls))  # warm-up (page cache, connections)
    return asyncio.run(_small(urls))


async def _concurrent_get(url: str, n: int) -> float:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:

        async def one() -> int:
            got = 0
            async with session.get(url) as r:
                async for chunk in r.content.iter_chunked(1 << 20):
                    got += len(chunk)
            return got

        t0 = time.perf_counter()
        sizes = await asyncio.gather(*(one() for _ in range(n)))
        if len(set(sizes)) != 1:
            raise RuntimeError(f"clients got different sizes: {set(sizes)}")
        return time.perf_counter() - t0


def start_gator(storage: Path, port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "gator_setup",
        "mirror",
        "serve",
        "--storage",
        str(storage),
        "--port",
        str(port),
    ]
    proc = subprocess.Popen([*cmd, *extra], stderr=open(log, "wb"), stdout=subprocess.DEVNULL)  # noqa: SIM115
    wait_port(port)
    return proc


def start_nginx(root: Path, port: int, work: Path) -> subprocess.Popen[bytes] | None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not nginx:
        return None
    conf = work / "nginx.conf"
    conf.write_text(
        f"""daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx-error.log;
user root;
events {{ worker_connections 1024; }}
http {{ access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path {work}/nginx-tmp; proxy_temp_path {work}/nginx-tmp;
  fastcgi_temp_path {work}/nginx-tmp; uwsgi_temp_path {work}/nginx-tmp; scgi_temp_path {work}/nginx-tmp;
  server {{ listen 127.0.0.1:{port}; root {root}; }} }}
"""
    )
    (work / "nginx-tmp").mkdir(exist_ok=True)
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(work)], stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


def start_olah(olah: str | None, upstream_port: int, port: int, work: Path) -> subprocess.Popen[bytes] | None:
    if not olah or not Path(olah).exists():
        return None
    cmd = [
        olah, "--host", "127.0.0.1", "--port", str(port), "--hf-scheme", "http",
        "--hf-netloc", f"127.0.0.1:{upstream_port}", "--hf-lfs-netloc", f"127.0.0.1:{upstream_port}",
        "--mirror-scheme", "http", "--mirror-netloc", f"127.0.0.1:{port}",
        "--mirror-lfs-netloc", f"127.0.0.1:{port}", "--repos-path", str(work / "olah-repos"),
        "--log-path", str(work / "olah-logs"),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(work / "olah.log", "wb"))  # noqa: SIM115
    wait_port(port, 60)
    return proc


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def upstream_gets(log: Path, needle: str) -> int:
    return sum(
        1 for line in log.read_text(errors="replace").splitlines() if '"GET ' in line and needle in line
    )


def _arm(direct: list[float], cold: list[float]) -> dict[str, Any]:
    return {
        "direct_MBps": max(direct),
        "cold_MBps": max(cold),
        "direct_runs": direct,
        "cold_runs": cold,
        "ratio": round(max(cold) / max(direct), 2),
    }


def cold_vs_direct(
    args: argparse.Namespace, work: Path, gport: int, dport: int, sha: str, procs: list[Any]
) -> dict[str, Any]:
    """Each arm: best of --runs; cold uses a fresh file per run, so every cold run is a real miss."""
    path = f"acme/cold/resolve/{sha}"
    up, down = f"http://127.0.0.1:{gport}/{path}", f"http://127.0.0.1:{dport}/{path}"
    dest = work / "down" / "client-copy.bin"  # the client's file, on the store's file system
    settle_mb = 2 * args.sf_mb
    before = upstream_gets(work / "gator.log", "/acme/cold/resolve/")
    out: dict[str, Any] = {"file_mb": args.sf_mb}
    published = sum(1 for _ in (work / "down" / "blobs").glob("*/*"))
    for sink in ("null", "file"):
        direct, cold = [], []
        for i in range(args.runs):
            settle(work, settle_mb)
            direct.append(
                curl_speed(f"{up}/{sink}0.bin", 1)["MBps"]
                if sink == "null"
                else curl_to_file(f"{up}/{sink}0.bin", dest)
            )
            settle(work, settle_mb)
            cold.append(
                curl_speed(f"{down}/{sink}{i}.bin", 1)["MBps"]
                if sink == "null"
                else curl_to_file(f"{down}/{sink}{i}.bin", dest)
            )
            published += 1
            wait_published(work / "down", published)
        out[sink] = _arm(direct, cold)
    # The real client, as users run it: huggingface_hub's hf_hub_download into a fresh cache.
    direct, cold = [], []
    for i in range(args.runs):
        settle(work, settle_mb)
        direct.append(hf_download(f"http://127.0.0.1:{gport}", "hf0.bin", sha, work, args.sf_mb))
        settle(work, settle_mb)
        cold.append(hf_download(f"http://127.0.0.1:{dport}", f"hf{i}.bin", sha, work, args.sf_mb))
        published += 1
        wait_published(work / "down", published)
    out["hf"] = _arm(direct, cold)
    # Requests the cold runs caused upstream (direct runs excluded): one per file.
    out["cold_upstream_requests"] = (
        upstream_gets(work / "gator.log", "/acme/cold/resolve/") - before - 3 * args.runs
    )
    for n, rate in enumerate(args.upstream_rate.split(",") if args.upstream_rate else []):
        pport, rport = free_port(), free_port()
        proxy = RateProxy(gport, pport, parse_rate(rate))
        store = work / f"down-rated{n}"
        procs.append(
            start_gator(store, rport, work / f"{store.name}.log", "--upstream", f"http://127.0.0.1:{pport}")
        )
        try:
            direct, cold = [], []
            for i in range(args.runs):
                settle(work, settle_mb)
                direct.append(curl_to_file(f"http://127.0.0.1:{pport}/{path}/rated0.bin", dest))
                settle(work, settle_mb)
                cold.append(curl_to_file(f"http://127.0.0.1:{rport}/{path}/rated{i}.bin", dest))
                wait_published(store, i + 1)
            out[f"rated {rate}"] = {"rate": rate, **_arm(direct, cold)}
        finally:
            proxy.stop()
    out["sha256_MBps"] = sha256_rate()
    out["store_write_MBps"] = write_rate(work / "down", args.sf_mb)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big-mb", type=int, default=1024)
    ap.add_argument("--sf-mb", type=int, default=256, help="size of the single-flight / cold file")
    ap.add_argument("--small", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--olah", default=str(ROOT / ".venvs" / "olah" / "bin" / "olah-cli"))
    ap.add_argument(
        "--upstream-rate",
        help="also measure behind an upstream paced to these rates, e.g. 125m,1250m (bytes/s)",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mirror-bench-"))
    src = work / "src"
    src.mkdir()
    write_big(src / "big.bin", args.big_mb)
    for i in range(args.small):
        (src / "small").mkdir(exist_ok=True)
        (src / "small" / f"f{i:04d}.json").write_bytes(os.urandom(8 * 1024))
    cold = work / "cold"
    cold.mkdir()
    write_big(cold / "sf.bin", args.sf_mb)
    for arm in ("null", "file", "hf", *(["rated"] if args.upstream_rate else [])):
        for i in range(args.runs):
            write_big(cold / f"{arm}{i}.bin", args.sf_mb)
    store = Store(work / "store")
    sha, _ = import_folder(store, src, parse_repo_id("acme/big"))
    cold_sha, _ = import_folder(store, cold, parse_repo_id("acme/cold"))
    # nginx serves the same tree as files on disk (the physical limit: sendfile from the page cache).
    nginx_root = work / "nginx-root"
    (nginx_root / "acme/big/resolve").mkdir(parents=True)
    os.symlink(src, nginx_root / "acme/big/resolve" / sha)

    results: dict[str, Any] = {"big_mb": args.big_mb, "small_files": args.small, "cpus": os.cpu_count()}
    gport, nport, oport, dport = free_port(), free_port(), free_port(), free_port()
    gator = start_gator(work / "store", gport, work / "gator.log")
    nginx = start_nginx(nginx_root, nport, work)
    olah = start_olah(args.olah, gport, oport, work)
    procs = [gator, nginx, olah]
    try:
        servers = {"gator": gport, "nginx": nport if nginx else None, "olah": oport if olah else None}
        small = [f"small/f{i:04d}.json" for i in range(args.small)]
        for name, port in servers.items():
            if port is None:
                results[name] = "n/a"
                continue
            base = f"http://127.0.0.1:{port}/acme/big/resolve/{sha}"
            if name == "olah":  # warm olah's cache first (it pulls from the gator upstream)
                curl_speed(f"{base}/big.bin", 1)
                asyncio.run(_small([f"{base}/{p}" for p in small]))
            results[name] = {
                "big": curl_speed(f"{base}/big.bin", args.runs),
                "small": small_files([f"{base}/{p}" for p in small]),
            }
        # Pull-through: downstream gator caching from the gator upstream.
        down = start_gator(work / "down", dport, work / "down.log", "--upstream", f"http://127.0.0.1:{gport}")
        procs.append(down)
        durl = f"http://127.0.0.1:{dport}/acme/cold/resolve/{cold_sha}"
        wall = asyncio.run(_concurrent_get(f"{durl}/sf.bin", args.clients))
        results["single_flight"] = {
            "clients": args.clients,
            "upstream_file_requests": upstream_gets(work / "gator.log", "sf.bin") - 0,
            "wall_s": round(wall, 2),
            "file_mb": args.sf_mb,
        }
        results["cold_pull_through"] = cold_vs_direct(args, work, gport, dport, cold_sha, procs)
    finally:
        for p in procs:
            stop(p)
    if isinstance(results.get("nginx"), dict):
        nb = results["nginx"]["big"]["MBps"]
        for name in ("gator", "olah"):
            if isinstance(results.get(name), dict):
                results[name]["big_vs_nginx"] = round(results[name]["big"]["MBps"] / nb, 2)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print(f"cached {args.big_mb} MiB file (curl, best of {args.runs}), {args.small} x 8 KiB files:")
        print("| server | large file MB/s | vs nginx | TTFB ms | small req/s | p50 ms | p99 ms |")
        print("|---|---|---|---|---|---|---|")
        for name in ("nginx", "gator", "olah"):
            r = results.get(name)
            if not isinstance(r, dict):
                print(f"| {name} | n/a | | | | | |")
                continue
            print(
                f"| {name} | {r['big']['MBps']} | {r.get('big_vs_nginx', 1.0)} | {r['big']['ttfb_ms']} | "
                f"{r['small']['req_per_s']} | {r['small']['p50_ms']} | {r['small']['p99_ms']} |"
            )
        sf, cp = results["single_flight"], results["cold_pull_through"]
        print(
            f"single-flight: {sf['clients']} clients on a cold {sf['file_mb']} MiB file -> "
            f"{sf['upstream_file_requests']} upstream file request(s), all done in {sf['wall_s']} s"
        )
        print(
            f"cold pull-through of {cp['file_mb']} MiB files vs direct from the same upstream "
            f"(best of {args.runs}):"
        )
        names = {
            "null": "curl to /dev/null",
            "file": "curl to a file",
            "hf": "hf_hub_download into a fresh cache",
        }
        for arm, r in cp.items():
            if isinstance(r, dict):
                name = names.get(arm) or f"upstream paced at {r['rate']} bytes/s, to a file"
                print(
                    f"  {name:<44} cold {r['cold_MBps']} MB/s (runs {r['cold_runs']}) vs direct "
                    f"{r['direct_MBps']} MB/s (runs {r['direct_runs']}): ratio {r['ratio']}"
                )
        print(f"  upstream requests caused by the cold runs: {cp['cold_upstream_requests']}")
        print(
            f"  ceilings here: sha256 on one core {cp['sha256_MBps']} MB/s; "
            f"writing into the store {cp['store_write_MBps']} MB/s"
        )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
