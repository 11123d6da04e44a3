"""How `gator mirror` scales: listing cost by repo size, metadata throughput by worker count, and
cold single-flight across several processes sharing one store.

  * listing: repos of --sizes files (synthetic trees: one shared blob, nested folders), served by
    `gator mirror serve`; the real client's `list_repo_files`, `list_repo_tree(recursive=True)` and
    `model_info(files_metadata=True)`, median of --runs; prints the 20,000/2,000 ratio when both sizes
    are in the list;
  * throughput: --clients concurrent clients, each looping `model_info` + a paginated recursive tree
    listing (what `list_repo_files` sends) on a --meta-files repo for --seconds, against
    `--workers 1` and `--workers 2`; API calls/s and p50/p99. The load comes from `wrk` (Debian
    package; one C thread, 50 keep-alive connections replaying the client loop's requests) where
    it is installed, else from aiohttp clients in two Python processes (--load-generator): on a
    2-core machine the Python clients take CPU from the second worker, which is then not measured;
    the CPU the load generator used is printed with each row;
  * single-flight: 2 and 4 `gator mirror serve --upstream` processes on one storage folder, 8 clients
    spread over them asking for one cold --sf-mb file of a fake upstream at once; upstream file
    requests counted (1 is the goal), bytes checked by sha256.

    python benchmarks/mirror_scale.py [--sizes 1000,2000,10000,20000,50000] [--runs 3]
        [--clients 50] [--seconds 20] [--meta-files 10000] [--sf-mb 64] [--only listing,throughput,flight]
        [--json]

Every figure is printed with the load average at the time: on a shared machine, say so next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from gator_setup.mirror.ids import parse_repo_id  # noqa: E402
from gator_setup.mirror.store import Store, make_entry  # noqa: E402


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def gator() -> list[str]:
    script = Path(sys.executable).with_name("gator")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gator_setup"]


def server_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of a `gator mirror serve` process and each of its children (the
    workers), from /proc: how much of each core the workers used, whatever else the machine runs."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    for p in [pid, *map(int, kids)]:
        try:
            if p != pid and b"spawn_main" not in Path(f"/proc/{p}/cmdline").read_bytes():
                continue  # multiprocessing's resource tracker, not a worker
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[p] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _wait_all_workers(log: Any, timeout: float = 60) -> None:
    """Until `gator mirror serve --workers N` says all N listen. The port answers as soon as the
    first worker does: a load generator that opens its keep-alive connections before the others
    bind gives them all to that one worker, which then serves the whole run alone."""
    end = time.time() + timeout
    while time.time() < end:
        log.seek(0)
        if b"worker processes on port" in log.read():
            return
        time.sleep(0.05)
    raise RuntimeError("the workers did not all start")


@contextmanager
def serve_proc(storage: Path, *extra: str) -> Iterator[tuple[str, int]]:
    """`gator mirror serve` in its own process group; yields its URL and pid."""
    port = free_port()
    cmd = [*gator(), "mirror", "serve", "--storage", str(storage), "--port", str(port), *extra]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    try:
        try:
            wait_port(port)
            if "--workers" in extra and extra[extra.index("--workers") + 1] != "1":
                _wait_all_workers(log)
        except RuntimeError:
            log.seek(0)
            raise RuntimeError(f"gator mirror serve did not start:\n{log.read().decode()[-2000:]}") from None
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@contextmanager
def serve(storage: Path, *extra: str) -> Iterator[str]:
    """`gator mirror serve` in its own process group; yields its URL."""
    with serve_proc(storage, *extra) as (url, _):
        yield url


def synthetic_repo(store: Store, repo: str, n: int) -> str:
    """A commit of `n` files in nested folders (about 100 per folder), all with the same small blob."""
    ref = parse_repo_id(repo)
    store.create_repo(ref, exist_ok=True)
    blob = store.put_bytes(b"{}\n")
    entry = make_entry("x.json", blob["sha256"], blob["size"], store.blob_path(blob["sha256"]))
    adds = {f"data/part-{i // 1000:03d}/shard-{(i // 100) % 10}/file-{i:06d}.json": entry for i in range(n)}
    sha, _ = store.commit(ref, "main", adds=adds, message=f"{n} files")
    return sha


def bench_listing(work: Path, sizes: list[int], runs: int) -> dict[str, Any]:
    from huggingface_hub import HfApi

    store_dir = work / "listing"
    store = Store(store_dir)
    for n in sizes:
        synthetic_repo(store, f"bench/files-{n}", n)
    rows: dict[str, Any] = {}
    with serve(store_dir) as url:
        api = HfApi(endpoint=url)
        for n in sizes:
            repo = f"bench/files-{n}"
            times: dict[str, list[float]] = {"list_repo_files": [], "list_repo_tree": [], "model_info": []}
            for _ in range(runs):
                t = time.perf_counter()
                files = api.list_repo_files(repo)
                times["list_repo_files"].append(time.perf_counter() - t)
                assert len(files) == n, (len(files), n)
                t = time.perf_counter()
                tree = list(api.list_repo_tree(repo, recursive=True))
                times["list_repo_tree"].append(time.perf_counter() - t)
                assert len(tree) >= n
                t = time.perf_counter()
                info = api.model_info(repo, files_metadata=True)
                times["model_info"].append(time.perf_counter() - t)
                assert len(info.siblings or []) == n
            row = {k: round(statistics.median(v), 4) for k, v in times.items()}
            rows[str(n)] = row
            print(f"listing {n:>6} files: {row}  (load {load()})", flush=True)
    out: dict[str, Any] = {"files": rows}
    if "2000" in rows and "20000" in rows:
        ratio = rows["20000"]["list_repo_files"] / rows["2000"]["list_repo_files"]
        out["ratio_20k_2k"] = round(ratio, 2)
        print(f"listing ratio 20,000 / 2,000 files: {ratio:.1f}", flush=True)
    return out


async def _client_loop(url: str, repo: str, until: float, lat: list[float], errors: list[str]) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as s:
        while time.time() < until:
            try:
                t = time.perf_counter()
                async with s.get(f"{url}/api/models/{repo}") as r:
                    await r.read()
                    r.raise_for_status()
                lat.append(time.perf_counter() - t)
                nxt: str | None = f"{url}/api/models/{repo}/tree/main?recursive=true"
                while nxt:
                    t = time.perf_counter()
                    async with s.get(nxt) as r:
                        await r.read()
                        r.raise_for_status()
                        link = r.headers.get("Link")
                    lat.append(time.perf_counter() - t)
                    nxt = link.split(";")[0].strip("<>") if link else None
            except Exception as exc:  # counted, not fatal: the figure says how many failed
                errors.append(type(exc).__name__)


def _run_clients(url: str, repo: str, clients: int, seconds: float) -> tuple[list[float], list[str]]:
    lat: list[float] = []
    errors: list[str] = []

    async def main() -> None:
        until = time.time() + seconds
        await asyncio.gather(*(_client_loop(url, repo, until, lat, errors) for _ in range(clients)))

    asyncio.run(main())
    return lat, errors


def _client_proc(args: tuple[str, str, int, float]) -> tuple[list[float], list[str]]:
    return _run_clients(*args)


def _request_paths(url: str, repo: str) -> list[str]:
    """The requests one client loop sends: `model_info`, then every page of the recursive tree
    (following the Link headers, as `list_repo_files` does), as paths on the server."""
    import urllib.request

    paths = [f"/api/models/{repo}"]
    nxt: str | None = f"{url}/api/models/{repo}/tree/main?recursive=true"
    while nxt:
        paths.append(nxt[len(url) :])
        with urllib.request.urlopen(nxt) as r:
            r.read()
            link = r.headers.get("Link")
        nxt = link.split(";")[0].strip("<>") if link else None
    return paths


_WRK_SCRIPT = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter - 1) %% #paths + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %%d, "duration_us": %%d, "errors": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _run_wrk(url: str, repo: str, clients: int, seconds: float) -> tuple[int, float, int, float, float]:
    """(requests, seconds, errors, p50 s, p99 s) of `wrk`: `clients` connections on one thread, each
    sending the client loop's requests in turn (model_info, tree pages) for `seconds`."""
    paths = _request_paths(url, repo)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(_WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths))
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{clients}", f"-d{int(seconds)}s", "--timeout", "30s", "-s", fh.name, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(fh.name)
    row = json.loads(next(line for line in out.splitlines() if line.startswith("WRK "))[4:])
    return (
        row["requests"],
        row["duration_us"] / 1e6,
        row["errors"],
        row["p50_us"] / 1e6,
        row["p99_us"] / 1e6,
    )


def bench_throughput(work: Path, files: int, clients: int, seconds: float, generator: str) -> dict[str, Any]:
    """Metadata calls/s of 1 and 2 workers. generator "wrk": one C process makes the load (little CPU
    taken from the workers on a small machine); "python": aiohttp clients in two processes."""
    import multiprocessing

    store_dir = work / "meta"
    synthetic_repo(Store(store_dir), "bench/meta", files)
    out: dict[str, Any] = {"generator": generator}
    for workers in (1, 2):
        with serve_proc(store_dir, "--workers", str(workers)) as (url, pid):
            before = server_cpu(pid)
            client_before = os.times()
            if generator == "wrk":
                calls, took, n_errors, p50, p99 = _run_wrk(url, "bench/meta", clients, seconds)
            else:
                # Clients in two processes of their own: one Python process cannot parse pages fast enough.
                procs = 2
                with multiprocessing.get_context("spawn").Pool(procs) as pool:
                    # Each client process loops for `seconds` once started: calls / seconds is the rate.
                    parts = pool.map(
                        _client_proc, [(url, "bench/meta", clients // procs, seconds)] * procs, chunksize=1
                    )
                lat = sorted(x for p in parts for x in p[0])
                calls, took, n_errors = len(lat), seconds, sum(len(p[1]) for p in parts)
                p50 = lat[len(lat) // 2] if lat else 0.0
                p99 = lat[int(len(lat) * 0.99)] if lat else 0.0
            client_after = os.times()
            after = server_cpu(pid)
        cpu = sorted((round(after[p] - before.get(p, 0.0), 1) for p in after if p != pid), reverse=True)
        client_cpu = sum(client_after[i] - client_before[i] for i in (2, 3))  # children: user + sys
        row = {
            "calls_per_s": round(calls / took, 1),
            "p50_ms": round(1000 * p50, 1),
            "p99_ms": round(1000 * p99, 1),
            "errors": n_errors,
            "worker_cpu_s": cpu or [round(after[pid] - before.get(pid, 0.0), 1)],
            "load_generator_cpu_s": round(client_cpu, 1),
            "load": load(),
        }
        out[f"workers_{workers}"] = row
        print(f"throughput, {workers} worker(s), {clients} clients ({generator}): {row}", flush=True)
    if out["workers_1"]["calls_per_s"]:
        out["ratio"] = round(out["workers_2"]["calls_per_s"] / out["workers_1"]["calls_per_s"], 2)
        print(f"throughput ratio 2 / 1 workers: {out['ratio']}  (load {load()})", flush=True)
    return out


def bench_flight(work: Path, mb: int) -> dict[str, Any]:
    from mirror_fakehub import FakeHub, FakeRepo

    data = os.urandom(1 << 20) * mb
    digest = hashlib.sha256(data).hexdigest()
    out: dict[str, Any] = {}
    for procs in (2, 4):
        hub = FakeHub({"acme/big": FakeRepo({"model.safetensors": data, "config.json": b"{}"})}).start()
        store_dir = work / f"flight-{procs}"
        try:
            with contextlib.ExitStack() as stack:
                urls = [
                    stack.enter_context(serve(store_dir, "--upstream", hub.url, "--workers", "1"))
                    for _ in range(procs)
                ]
                t0 = time.time()
                results = _parallel_downloads(
                    [urls[i % procs] for i in range(8)], "acme/big", "model.safetensors"
                )
                wall = time.time() - t0
            fetches = [r for r in hub.requests("cdn") if r[1] == "GET"]
            row = {
                "upstream_file_requests": len(fetches),
                "clients_ok": all(r == digest for r in results),
                "seconds": round(wall, 2),
                "load": load(),
            }
        finally:
            hub.stop()
        out[f"processes_{procs}"] = row
        print(f"single-flight, {procs} processes on one store, 8 clients, {mb} MiB cold: {row}", flush=True)
    return out


def _parallel_downloads(urls: list[str], repo: str, path: str) -> list[str]:
    import concurrent.futures
    import urllib.request

    def one(url: str) -> str:
        h = hashlib.sha256()
        with urllib.request.urlopen(f"{url}/{repo}/resolve/main/{path}", timeout=300) as r:
            while chunk := r.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()

    with concurrent.futures.ThreadPoolExecutor(len(urls)) as ex:
        return list(ex.map(one, urls))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,2000,10000,20000,50000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--meta-files", type=int, default=10000)
    ap.add_argument("--sf-mb", type=int, default=64)
    ap.add_argument("--only", default="listing,throughput,flight")
    ap.add_argument(
        "--load-generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="who makes the throughput load: wrk (C; Debian package `wrk`), python (aiohttp clients); "
        "auto: wrk where installed",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    generator = args.load_generator
    if generator == "auto":
        import shutil

        generator = "wrk" if shutil.which("wrk") else "python"
    parts = set(args.only.split(","))
    result: dict[str, Any] = {"cpus": os.cpu_count(), "load_start": load()}
    with tempfile.TemporaryDirectory(prefix="gator-scale-") as tmp:
        work = Path(tmp)
        if "listing" in parts:
            result["listing"] = bench_listing(work, [int(x) for x in args.sizes.split(",")], args.runs)
        if "throughput" in parts:
            result["throughput"] = bench_throughput(
                work, args.meta_files, args.clients, args.seconds, generator
            )
        if "flight" in parts:
            result["flight"] = bench_flight(work, args.sf_mb)
    result["load_end"] = load()
    if args.json:
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
