"""`gator mirror serve --workers N`: one port, N processes, the same access rules in each, and the set
stops together."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from mirror_server import import_repo, make_tiny_repo

TOKENS = "alice_write_1 alice write\nbob_read_0001 bob read\n"


@contextmanager
def serve(storage: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], int, list[str]]]:
    cmd = [sys.executable, "-m", "gator_setup", "mirror", "serve", "--storage", str(storage), "--port", "0"]
    proc = subprocess.Popen(
        [*cmd, *args], stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        while not any("worker processes on port" in ln for ln in lines):
            line = proc.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        port = int(re.findall(r"on port (\d+)", lines[-1])[0])
        yield proc, port, lines
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(20)


def request(port: int, method: str, path: str, token: str | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # a new connection each time
    conn.request(method, path, headers={"Authorization": f"Bearer {token}"} if token else {})
    status = conn.getresponse().status
    conn.close()
    return status


def test_every_worker_serves_and_applies_the_access_rules(tmp_path: Path) -> None:
    store = tmp_path / "store"
    import_repo(store, make_tiny_repo(tmp_path / "src"), "alice/secret", private=True)
    tokens = tmp_path / "tokens"
    tokens.write_text(TOKENS)
    with serve(store, "--workers", "2", "--tokens", str(tokens)) as (proc, port, _):
        cases = [
            (None, 401),  # anonymous: a private repo does not exist
            ("nobody_token", 401),  # unknown token
            ("bob_read_0001", 404),  # another user
            ("alice_write_1", 200),  # the owner
        ]
        for _ in range(12):
            for token, status in cases:
                assert request(port, "GET", "/api/models/alice/secret", token) == status, token
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    pids = set(re.findall(r"gator\.mirror\.access\[(\d+)\]", err))
    assert len(pids) == 2, err[-2000:]  # the kernel spread the 49 connections over both workers
    assert "alice_write_1" not in err and "bob_read_0001" not in err


def test_a_dead_worker_stops_the_set_with_an_error(tmp_path: Path) -> None:
    with serve(tmp_path, "--workers", "2") as (proc, port, _):
        assert request(port, "GET", "/healthz") == 200
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid), "-f", "spawn_main"], capture_output=True, text=True
        ).stdout.split()
        workers = [int(p) for p in children]
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "exited with code -9; stopped all workers" in err
    time.sleep(0.5)
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cmd = [sys.executable, "-m", "gator_setup", "mirror", "serve", "--storage", str(tmp_path)]
        out = subprocess.run(
            [*cmd, "--port", str(port), "--workers", "2"], capture_output=True, text=True, timeout=60
        )
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Cannot bind" in out.stderr


def test_start_up_removes_temp_files_of_killed_transfers(tmp_path: Path) -> None:
    (tmp_path / "tmp" / "flight").mkdir(parents=True)
    (tmp_path / "tmp" / "0badc0de.part").write_bytes(b"x" * 1000)  # a transfer killed mid-way
    (tmp_path / "tmp" / "flight" / f"{'ab' * 32}.part").write_bytes(b"y")  # resumable: kept a day
    with serve(tmp_path, "--workers", "2") as (_, port, lines):
        assert request(port, "GET", "/healthz") == 200
    assert "removed 1 abandoned temp files (1000 bytes)" in "".join(lines)
    assert not (tmp_path / "tmp" / "0badc0de.part").exists()
    assert (tmp_path / "tmp" / "flight" / f"{'ab' * 32}.part").exists()
