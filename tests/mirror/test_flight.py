"""Single-flight across processes sharing one store (flight.py): one upstream fetch per cold blob
whatever the number of `gator mirror serve` processes, right bytes for every client, and a dead
fetching process taken over by another (resumed, not restarted); nothing partial is published."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from mirror_fakehub import FakeHub, FakeRepo

from gator_setup.mirror.flight import FlightLock, claim

BIG = "model.safetensors"
DATA = os.urandom(1 << 20) * 4  # 4 MiB: an LFS file (by suffix), fetched through the "CDN"
SMALL = b'{"model_type": "flight"}\n'
SHA = "f" * 40


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    h = FakeHub({"acme/big": FakeRepo({BIG: DATA, "config.json": SMALL}, sha=SHA)}).start()
    try:
        yield h
    finally:
        h.faults.release.set()
        h.stop()


@contextmanager
def mirror(storage: Path, upstream: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    cmd = [sys.executable, "-m", "gator_setup", "mirror", "serve", "--storage", str(storage)]
    cmd += ["--port", "0", "--workers", "1", "--upstream", upstream]
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    assert proc.stderr is not None
    lines: list[str] = []
    while not any("HF_ENDPOINT=" in ln for ln in lines):
        line = proc.stderr.readline()
        assert line, "".join(lines)
        lines.append(line)
    url = re.findall(r"HF_ENDPOINT=(\S+)", "".join(lines))[0]
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(iter(proc.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    proc.log = log  # type: ignore[attr-defined]
    try:
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(20)


class Client(threading.Thread):
    """GET one file; `started` is set once response headers arrived, `digest` at the end."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.started = threading.Event()
        self.digest: str | None = None
        self.error: str | None = None
        self.received = 0

    def run(self) -> None:
        h = hashlib.sha256()
        try:
            with urllib.request.urlopen(self.url, timeout=60) as r:
                self.started.set()
                while chunk := r.read(1 << 16):
                    h.update(chunk)
                    self.received += len(chunk)
            self.digest = h.hexdigest()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.started.set()


def cdn_gets(hub: FakeHub) -> int:
    return len([r for r in hub.requests("cdn") if r[1] == "GET"])


def check_store(storage: Path) -> None:
    blobs = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (storage / "blobs").glob("*/*")}
    assert hashlib.sha256(DATA).hexdigest() in blobs and all(k == v for k, v in blobs.items())
    assert not list((storage / "quarantine").glob("*")) if (storage / "quarantine").exists() else True
    assert not list((storage / "tmp" / "flight").glob("*.part"))


@pytest.mark.parametrize("procs", [2, 4])
def test_one_upstream_fetch_for_processes_sharing_a_store(hub: FakeHub, tmp_path: Path, procs: int) -> None:
    storage = tmp_path / "store"
    hub.faults.pause_at = 1 << 20  # the first fetch stalls after 1 MiB until every client is in
    with ExitStack() as stack:
        urls = [stack.enter_context(mirror(storage, hub.url))[1] for _ in range(procs)]
        clients = [Client(f"{u}/acme/big/resolve/{SHA}/{BIG}") for u in urls for _ in range(2)]
        for c in clients:
            c.start()
        for c in clients:
            assert c.started.wait(60) and c.error is None, c.error
        hub.faults.release.set()
        for c in clients:
            c.join(60)
        small = [Client(f"{u}/acme/big/resolve/{SHA}/config.json") for u in urls]
        for c in small:
            c.start()
        for c in small:
            c.join(60)
    assert [c.digest for c in clients] == [hashlib.sha256(DATA).hexdigest()] * len(clients)
    assert [c.digest for c in small] == [hashlib.sha256(SMALL).hexdigest()] * procs
    assert cdn_gets(hub) == 1
    check_store(storage)


def test_a_killed_fetcher_is_taken_over_and_resumed(hub: FakeHub, tmp_path: Path) -> None:
    storage = tmp_path / "store"
    hub.faults.pause_at = 1 << 20
    with ExitStack() as stack:
        (leader, url_a), *others = [stack.enter_context(mirror(storage, hub.url)) for _ in range(3)]
        first = Client(f"{url_a}/acme/big/resolve/{SHA}/{BIG}")
        first.start()
        assert first.started.wait(60) and cdn_gets(hub) == 1
        followers = [Client(f"{u}/acme/big/resolve/{SHA}/{BIG}") for _, u in others]
        for c in followers:
            c.start()
        for c in followers:
            assert c.started.wait(60) and c.error is None, c.error
        os.kill(leader.pid, signal.SIGKILL)  # mid-fetch: 1 MiB of 4 in its temp file, lock held
        leader.wait(10)
        hub.faults.release.set()
        for c in followers:
            c.join(60)
        logs = "".join(line for p, _ in others for line in p.log)  # type: ignore[attr-defined]
    first.join(10)
    assert first.digest != hashlib.sha256(DATA).hexdigest()  # its server died mid-file: a cut transfer
    assert [c.digest for c in followers] == [hashlib.sha256(DATA).hexdigest()] * 2
    assert cdn_gets(hub) == 2  # the killed fetch and one resumed by exactly one survivor
    assert logs.count("taking over the fetch") == 1 and re.search(r"resuming the fetch of \S+ at [1-9]", logs)
    check_store(storage)


def test_claim_is_exclusive_and_released_with_its_holder(tmp_path: Path) -> None:
    key = "ab" * 32
    held = claim(tmp_path, key)
    assert isinstance(held, FlightLock)
    assert claim(tmp_path, key) is None  # another open file description: busy, even in-process
    held.release()
    again = claim(tmp_path, key)
    assert isinstance(again, FlightLock)
    again.release()
    assert not isinstance(claim(tmp_path, "../../etc/passwd"), FlightLock)


def test_wrong_upstream_bytes_reach_no_client_in_any_process(hub: FakeHub, tmp_path: Path) -> None:
    storage = tmp_path / "store"
    hub.faults.pause_at = 1 << 20
    hub.faults.wrong_bytes = True
    with ExitStack() as stack:
        urls = [stack.enter_context(mirror(storage, hub.url))[1] for _ in range(2)]
        clients = [Client(f"{u}/acme/big/resolve/{SHA}/{BIG}") for u in urls for _ in range(2)]
        for c in clients:
            c.start()
        for c in clients:
            assert c.started.wait(60)
        hub.faults.release.set()
        for c in clients:
            c.join(60)
    assert all(c.received < len(DATA) for c in clients)  # cut before the last byte, in every process
    assert cdn_gets(hub) == 1  # the followers share the leader's failure instead of fetching again
    assert not list((storage / "blobs").glob("*/*"))
    assert len(list((storage / "quarantine").glob("*"))) == 1
    assert not list((storage / "tmp" / "flight").glob("*.part"))
