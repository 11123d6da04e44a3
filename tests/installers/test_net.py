"""Network behaviour of the installers: timeouts, retries with backoff, one-line errors naming the fix."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gator_setup.errors import NetworkError, UsageError
from gator_setup.installers import net, remote
from gator_setup.installers.download import FilePlace, fetch_file
from gator_setup.installers.remote import RemoteFile

ROOT = Path(__file__).resolve().parents[2]
GATOR = [sys.executable, "-m", "gator_setup"]


@pytest.fixture()
def dead_endpoint() -> Iterator[str]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            accepted.append(conn)  # held open, never read from or written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        sock.close()


FAST = net.NetSettings(connect_timeout=1.0, read_timeout=0.5, attempts=3, deadline=2.2)


def test_dead_endpoint_is_one_line_naming_endpoint_and_setting(dead_endpoint: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(NetworkError) as exc:
        remote.list_repo("org/name", None, endpoint=dead_endpoint, token=None, settings=FAST)
    elapsed = time.monotonic() - t0
    msg = str(exc.value)
    assert dead_endpoint in msg and net.READ_ENV in msg and "no answer within 0.5 s" in msg
    assert "\n" not in msg and exc.value.exit_code == 3
    # Two tries (0.5 s each and a 1 s backoff) fit the 2.2 s deadline; a third would not.
    assert 1.0 <= elapsed < 4.0


def test_default_settings_give_up_on_a_dead_endpoint_within_a_minute() -> None:
    """The retry policy, played against an endpoint where every try waits the whole read timeout."""
    s = net.NetSettings()
    spent, attempts = 0.0, 0
    while True:
        attempts += 1
        spent += s.read_timeout  # the connection opens, the answer never comes
        backoff = net.backoff(attempts)
        if not net.retry_allowed(attempts, spent, backoff, s):
            break
        spent += backoff
    assert attempts >= 2 and spent < 60
    # A slow but live Hub still gets its read timeout (>= 20 s) on each try.
    assert s.read_timeout >= 20


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 to the first `fail` GETs, then a JSON body."""

    fail = 1
    seen = 0

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen += 1
        if type(self).seen <= type(self).fail:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"sha": "' + b"a" * 40 + b'"}' if "revision" in self.path else b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def flaky() -> Iterator[tuple[str, type[_Flaky]]]:
    handler = type("Handler", (_Flaky,), {"fail": 1, "seen": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_server_errors_are_retried_with_backoff(flaky: tuple[str, type[_Flaky]]) -> None:
    url, handler = flaky
    sleeps: list[float] = []
    answer = net.fetch(
        f"{url}/api/models/a/b/revision/main",
        token=None,
        settings=net.NetSettings(read_timeout=2, deadline=10),
        what="revision",
        sleep=sleeps.append,
    )
    assert answer.status == 200 and answer.json()["sha"] == "a" * 40
    assert handler.seen == 2 and sleeps == [1.0]


def test_persistent_server_error_is_reported_not_retried_forever(flaky: tuple[str, type[_Flaky]]) -> None:
    url, handler = flaky
    handler.fail = 100
    sleeps: list[float] = []
    with pytest.raises(Exception, match="server error") as exc:
        remote.list_repo(
            "a/b", None, endpoint=url, token=None, settings=net.NetSettings(read_timeout=2, deadline=60)
        )
    assert "\n" not in str(exc.value)
    assert handler.seen == 3  # three attempts, then the answer is given
    del sleeps


def test_download_from_a_server_that_stops_answering_gives_up(dead_endpoint: str, tmp_path: Path) -> None:
    f = RemoteFile("model.safetensors", 1000, "0" * 64, None)
    fp = FilePlace(tmp_path / "final", tmp_path / "part.incomplete", tmp_path / "lock", None)
    t0 = time.monotonic()
    with pytest.raises(NetworkError) as exc:
        fetch_file(
            f"{dead_endpoint}/a/b/resolve/main/model.safetensors",
            f,
            fp,
            token=None,
            hash_it=False,
            on_bytes=lambda n: None,
            settings=FAST,
        )
    assert time.monotonic() - t0 < 6
    assert dead_endpoint in str(exc.value) and "resumes" in str(exc.value)


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "99999"])
def test_bad_timeout_setting_is_a_usage_error(raw: str) -> None:
    with pytest.raises(UsageError, match=net.READ_ENV):
        net.NetSettings.from_env(environ={net.READ_ENV: raw})


def test_timeouts_come_from_the_environment() -> None:
    s = net.NetSettings.from_env(environ={net.READ_ENV: "45", net.CONNECT_ENV: "3"})
    assert (s.read_timeout, s.connect_timeout) == (45, 3) and s.deadline >= 2 * 45
    assert net.NetSettings.from_env(environ={}, read_timeout=7).read_timeout == 7


def test_install_models_cli_dead_endpoint_exits_3(dead_endpoint: str, tmp_path: Path) -> None:
    env = {**os.environ, net.READ_ENV: "1", "HF_HUB_CACHE": str(tmp_path), "NO_COLOR": "1"}
    env.pop("GATOR_DEBUG", None)
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "gator_setup", "install-models", "sdxl-1.0", "--endpoint", dead_endpoint],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert time.monotonic() - t0 < 60
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and dead_endpoint in lines[0] and net.READ_ENV in lines[0]
    assert "Traceback" not in proc.stderr and "gator bug" not in proc.stderr


def test_space_deploy_on_a_dead_endpoint_is_one_line(dead_endpoint: str, tmp_path: Path) -> None:
    """Publishing goes through HfApi: its shared client gets gator's timeouts (it had none)."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "app.py").write_text("import gradio\n")
    env = {**os.environ, net.READ_ENV: "1", "HF_TOKEN": "hf_" + "x" * 30, "NO_COLOR": "1"}
    env.pop("GATOR_DEBUG", None)
    t0 = time.monotonic()
    proc = subprocess.run(
        [*GATOR, "space", "deploy", "app", "--repo", "me/demo", "--endpoint", dead_endpoint],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert time.monotonic() - t0 < 60
    assert proc.returncode in (2, 3) and proc.stderr.count("\n") == 1, proc.stderr
    assert dead_endpoint in proc.stderr and "gator bug" not in proc.stderr


def test_hub_session_gets_the_timeouts() -> None:
    hub = pytest.importorskip("huggingface_hub")
    s = net.NetSettings(connect_timeout=4, read_timeout=9)
    if net.limit_hub_session(s):
        timeout = hub.get_session().timeout
        assert (timeout.connect, timeout.read) == (4, 9)
    else:  # a requests-based hub (0.x): nothing to set
        assert not hasattr(hub.get_session(), "timeout")
