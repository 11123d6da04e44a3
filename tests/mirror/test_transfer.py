"""The worker-thread body transfer (transfer.py): both copy paths, redirects, errors, stalls, cancel."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gator_setup.mirror import transfer
from gator_setup.mirror.ids import HubError
from gator_setup.mirror.store import Store
from gator_setup.mirror.upstream import UpstreamDown

DATA = os.urandom(3 * 1024 * 1024 + 12345)  # not a multiple of any buffer size


class Origin:
    """A tiny HTTP/1.1 origin in a thread; `routes` maps a path to a handler function."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.routes: dict[str, Any] = {}
        self.release = threading.Event()
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                origin.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                origin.routes[self.path](self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def send_bytes(h: BaseHTTPRequestHandler, data: bytes, *, chunked: bool = False) -> None:
    rng = h.headers.get("Range")
    start = int(rng.split("=")[1].split("-")[0]) if rng else 0
    body = data[start:]
    h.send_response(206 if rng else 200)
    if chunked:
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for i in range(0, len(body), 100_000):
            part = body[i : i + 100_000]
            h.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        h.wfile.write(b"0\r\n\r\n")
        return
    h.send_header("Content-Length", str(len(body)))
    if rng:
        h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
    h.end_headers()
    h.wfile.write(body)


@pytest.fixture
def origins() -> Iterator[tuple[Origin, Origin]]:
    a, b = Origin(), Origin()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture(params=[True, False], ids=["splice", "copy"])
def splice(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """The test runs twice: with os.splice (the zero-copy path) and with it gone (the copy loop)."""
    if not request.param:
        monkeypatch.delattr(os, "splice", raising=False)
    return bool(request.param)


def pump_all(url: str, tmp_path: Path, headers: dict[str, str] | None = None, size: int = len(DATA)) -> Any:
    store = Store(tmp_path / "store")
    writer = store.new_blob()
    calls = []
    body = transfer.open_body(url, headers or {}, timeout=2)
    body.pump(writer, size, lambda: calls.append(writer.size))
    writer.verify(sha256=hashlib.sha256(DATA).hexdigest(), size=len(DATA))
    return writer, calls


def test_redirect_to_other_origin_drops_the_token_and_both_paths_copy_exactly(
    origins: tuple[Origin, Origin], tmp_path: Path, splice: bool
) -> None:
    hub, cdn = origins

    def redirect(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", f"{cdn.url}/blob")
        h.send_header("Content-Length", "0")
        h.end_headers()

    hub.routes["/resolve/f"] = redirect
    cdn.routes["/blob"] = lambda h: send_bytes(h, DATA)
    writer, calls = pump_all(f"{hub.url}/resolve/f", tmp_path, {"Authorization": "Bearer hf_secret"})
    assert writer.size == len(DATA) and calls[-1] == len(DATA) and len(calls) >= 3  # progress as it grew
    assert hub.seen[0][1]["authorization"] == "Bearer hf_secret"
    assert "authorization" not in cdn.seen[0][1]  # the caller's token never reaches another host
    writer.abort()


def test_chunked_body_and_range_resume(origins: tuple[Origin, Origin], tmp_path: Path) -> None:
    hub, _ = origins
    hub.routes["/chunked"] = lambda h: send_bytes(h, DATA, chunked=True)
    writer, _ = pump_all(f"{hub.url}/chunked", tmp_path)
    writer.abort()
    # A resumed fetch asks for the rest with Range and must get a 206 back.
    hub.routes["/plain"] = lambda h: send_bytes(h, DATA)
    body = transfer.open_body(f"{hub.url}/plain", {"Range": "bytes=100-"}, timeout=2)
    assert body.resp.status == 206 and body.length == len(DATA) - 100
    body.close()


def test_errors_are_relayed_or_mean_upstream_down(origins: tuple[Origin, Origin]) -> None:
    hub, _ = origins

    def answer(status: int, **headers: str) -> Any:
        def route(h: BaseHTTPRequestHandler) -> None:
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", "0")
            h.end_headers()

        return route

    hub.routes["/gated"] = answer(403, **{"X-Error-Code": "GatedRepo", "X-Error-Message": "ask first"})
    hub.routes["/boom"] = answer(503)
    hub.routes["/norange"] = send_bytes_ignoring_range
    with pytest.raises(HubError) as err:
        transfer.open_body(f"{hub.url}/gated", {}, timeout=2)
    assert err.value.status == 403 and err.value.code == "GatedRepo"
    with pytest.raises(UpstreamDown, match="503"):
        transfer.open_body(f"{hub.url}/boom", {}, timeout=2)
    with pytest.raises(UpstreamDown, match="Range"):
        transfer.open_body(f"{hub.url}/norange", {"Range": "bytes=10-"}, timeout=2)
    with pytest.raises(UpstreamDown):
        transfer.open_body("http://127.0.0.1:9/nothing-listens", {}, timeout=2)


def send_bytes_ignoring_range(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", str(len(DATA)))
    h.end_headers()
    h.wfile.write(DATA)


def test_more_bytes_announced_than_expected_is_a_mismatch(
    origins: tuple[Origin, Origin], tmp_path: Path
) -> None:
    hub, _ = origins
    hub.routes["/f"] = lambda h: send_bytes(h, DATA)
    from gator_setup.mirror.store import BlobMismatch

    writer = Store(tmp_path / "s").new_blob()
    body = transfer.open_body(f"{hub.url}/f", {}, timeout=2)
    with pytest.raises(BlobMismatch):
        body.pump(writer, len(DATA) - 1, lambda: None)
    writer.abort()


def test_stall_times_out_and_close_wakes_a_blocked_pump(
    origins: tuple[Origin, Origin], tmp_path: Path, splice: bool
) -> None:
    hub, _ = origins

    def stall(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(DATA)))
        h.end_headers()
        h.wfile.write(DATA[:500_000])
        h.wfile.flush()
        hub.release.wait(30)

    hub.routes["/stall"] = stall
    store = Store(tmp_path / "store")
    writer = store.new_blob()
    body = transfer.open_body(f"{hub.url}/stall", {}, timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(UpstreamDown):
        body.pump(writer, len(DATA), lambda: None)
    assert 0.4 < time.monotonic() - t0 < 10
    # What was written is an exact prefix (a resumed fetch continues from writer.size).
    assert 0 < writer.size <= 500_000 and writer.path.read_bytes() == DATA[: writer.size]

    # With a long timeout, close() from another thread (server shutdown) ends the pump at once.
    writer2 = store.new_blob()
    body2 = transfer.open_body(f"{hub.url}/stall", {}, timeout=60)
    threading.Timer(0.3, body2.close).start()
    t0 = time.monotonic()
    with pytest.raises(UpstreamDown, match="cancelled"):
        body2.pump(writer2, len(DATA), lambda: None)
    assert time.monotonic() - t0 < 10
    writer.abort()
    writer2.abort()


def test_pool_reuses_connections_and_replaces_ones_closed_while_idle(
    origins: tuple[Origin, Origin], tmp_path: Path, splice: bool
) -> None:
    hub, cdn = origins
    ports: dict[str, list[int]] = {"hub": [], "cdn": []}
    drop_next = {"on": False}

    def redirect(h: BaseHTTPRequestHandler) -> None:
        ports["hub"].append(h.client_address[1])
        h.send_response(302)
        h.send_header("Location", f"{cdn.url}/blob")
        h.send_header("Content-Length", "0")
        h.end_headers()

    def blob(h: BaseHTTPRequestHandler) -> None:
        ports["cdn"].append(h.client_address[1])
        drop = drop_next["on"]  # read before answering: the client moves on once it has the bytes
        send_bytes(h, DATA)
        if drop:
            h.close_connection = True  # closes after this response without saying so in a header

    hub.routes["/resolve/f"] = redirect
    cdn.routes["/blob"] = blob
    pool = transfer.ConnectionPool()
    store = Store(tmp_path / "store")
    sha = hashlib.sha256(DATA).hexdigest()
    for _ in range(3):
        writer = store.new_blob()
        body = transfer.open_body(f"{hub.url}/resolve/f", {}, timeout=5, pool=pool)
        body.pump(writer, len(DATA), lambda: None)
        assert writer.verify(sha256=sha, size=len(DATA)) == sha
        writer.abort()
    # One connection per origin carried all three downloads (redirect and body alike).
    assert len(set(ports["hub"])) == 1 and len(set(ports["cdn"])) == 1 and pool.opened == 2

    drop_next["on"] = True
    for _ in range(2):  # the second one finds its pooled CDN connection closed by the server
        writer = store.new_blob()
        body = transfer.open_body(f"{hub.url}/resolve/f", {}, timeout=5, pool=pool)
        body.pump(writer, len(DATA), lambda: None)
        assert writer.verify(sha256=sha, size=len(DATA)) == sha
        writer.abort()
    assert len(set(ports["cdn"])) == 2 and pool.opened == 3
    pool.close()


def test_token_follows_redirects_only_to_the_same_host_and_never_down_to_http() -> None:
    from urllib.parse import urlsplit

    def keeps(a: str, b: str) -> bool:
        return transfer.keeps_token(urlsplit(a), urlsplit(b))

    assert keeps("https://hub.example/a", "https://hub.example/b")
    assert keeps("http://hub.example/a", "https://hub.example/b")  # an upgrade is fine
    assert not keeps("https://hub.example/a", "http://hub.example/b")  # the token would go in clear
    assert not keeps("https://hub.example/a", "https://cdn.example/b")
    assert not keeps("https://hub.example/a", "https://hub.example:8443/b")


def test_connection_close_answers_are_read_and_can_be_cancelled(
    origins: tuple[Origin, Origin], tmp_path: Path, splice: bool
) -> None:
    hub, _ = origins

    def closing(h: BaseHTTPRequestHandler, stall: bool = False) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(DATA)))
        h.send_header("Connection", "close")  # http.client then drops conn.sock before the body
        h.end_headers()
        h.wfile.write(DATA[:400_000] if stall else DATA)
        h.wfile.flush()
        if stall:
            hub.release.wait(30)
        h.close_connection = True

    hub.routes["/close"] = closing
    hub.routes["/close-stall"] = lambda h: closing(h, stall=True)
    pool = transfer.ConnectionPool()
    writer, _ = pump_all(f"{hub.url}/close", tmp_path)  # a whole body through a "will close" answer
    writer.abort()
    store = Store(tmp_path / "s2")
    writer2 = store.new_blob()
    body = transfer.open_body(f"{hub.url}/close-stall", {}, timeout=60, pool=pool)
    threading.Timer(0.3, body.close).start()
    t0 = time.monotonic()
    with pytest.raises(UpstreamDown, match="cancelled"):
        body.pump(writer2, len(DATA), lambda: None)
    assert time.monotonic() - t0 < 10  # close() really stops it, not the end of the body
    writer2.abort()
    assert pool.opened == 1 and not pool._idle.get(("http", urlsplit_netloc(hub.url)))  # nothing pooled


def urlsplit_netloc(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc


def test_a_206_from_the_wrong_offset_is_refused(origins: tuple[Origin, Origin]) -> None:
    hub, _ = origins

    def wrong(h: BaseHTTPRequestHandler) -> None:
        h.send_response(206)
        h.send_header("Content-Range", f"bytes 0-{len(DATA) - 1}/{len(DATA)}")
        h.send_header("Content-Length", str(len(DATA)))
        h.end_headers()
        h.wfile.write(DATA)

    hub.routes["/wrong"] = wrong
    with pytest.raises(UpstreamDown, match="offset"):
        transfer.open_body(f"{hub.url}/wrong", {"Range": "bytes=100-"}, timeout=2)
