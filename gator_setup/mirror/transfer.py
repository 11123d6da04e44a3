"""Large file bodies from the upstream into a blob, pulled by a worker thread.

The event loop keeps the protocol (metadata, access checks, the clients); the bytes of an LFS file are
pulled by a worker thread over its own blocking HTTP/1.1 connection, because that is where they are
cheapest. Over plain HTTP (a mirror chained to another mirror on the LAN) they go socket -> pipe ->
page cache with splice(2) and never enter Python; over HTTPS they are read into one reused buffer and
written out. The loop is told of progress every `NOTIFY_EVERY` bytes, and its followers send the
bytes on with sendfile, so neither side copies them through Python objects. Why: aiohttp's client
reads into a new 256 KiB bytes object per socket read; on the 2-vCPU benchmark machine that path
(read, write, hash) topped out well below a direct download (`benchmarks/mirror_speed.py`).

Redirects (the Hub sends LFS files to its CDN) are followed here, server-side: clients only ever see
the mirror. Authorization is dropped when a redirect leaves the origin, as HTTP clients do. Small,
non-LFS files keep using the pooled aiohttp session (keep-alive matters more than copies there).
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import os
import select
import socket
import ssl
import threading
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

from gator_setup.mirror.ids import HubError
from gator_setup.mirror.store import BlobMismatch, BlobWriter
from gator_setup.mirror.upstream import RELAYED, UpstreamDown

MAX_REDIRECTS = 5
NOTIFY_EVERY = 1024 * 1024  # bytes between progress calls to the event loop
READ_BUF = 256 * 1024  # HTTPS / chunked: one reused buffer of this size
SPLICE_MAX = 1024 * 1024
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Linux); not exported by Python 3.11's fcntl module
_NET_ERRORS = (OSError, http.client.HTTPException, ssl.SSLError)


class UpstreamBody:
    """One upstream GET whose status and headers are in; `pump` moves its body into a blob."""

    def __init__(
        self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse, timeout: float
    ) -> None:
        self.conn = conn
        self.resp = resp
        self.timeout = timeout
        length = resp.getheader("Content-Length")
        self.length = int(length) if length and length.isdigit() else None
        self._closed = threading.Event()

    def close(self) -> None:
        """Safe from any thread: a pump blocked on the socket wakes up with an error."""
        if self._closed.is_set():
            return
        self._closed.set()
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self.conn.close()

    def pump(self, writer: BlobWriter, limit: int, progress: Callable[[], object]) -> None:
        """Append the body (at most `limit` bytes) to `writer`, calling `progress` as it grows.

        Runs in a worker thread; `progress` must be thread-safe (it schedules work on the loop).
        """
        if self.length is not None and self.length > limit:
            raise BlobMismatch(f"upstream announced {self.length} bytes where {limit} remain")
        want = limit if self.length is None else self.length
        try:
            if isinstance(self.conn.sock, ssl.SSLSocket) or self.length is None or not hasattr(os, "splice"):
                self._copy(writer, want, progress)
            else:
                self._splice(writer, want, progress)
            if self._closed.is_set():  # a shut-down socket reads as EOF: say why the body stopped
                raise UpstreamDown("fetch cancelled")
        except _NET_ERRORS as exc:
            if self._closed.is_set():
                raise UpstreamDown("fetch cancelled") from None
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                raise
            raise UpstreamDown(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self.close()

    def _copy(self, writer: BlobWriter, want: int, progress: Callable[[], object]) -> None:
        buf = memoryview(bytearray(READ_BUF))
        fd = writer.fileno()
        got = told = 0
        while got < want:
            n = self.resp.readinto(buf[: min(READ_BUF, want - got)])
            if not n:
                break
            _write_all(fd, buf[:n])
            writer.appended(n)
            got += n
            if got - told >= NOTIFY_EVERY:
                told = got
                progress()
        progress()

    def _splice(self, writer: BlobWriter, want: int, progress: Callable[[], object]) -> None:
        fd = writer.fileno()
        got = told = 0
        # http.client may already hold the first body bytes in its read buffer: take those first.
        fp = self.resp.fp
        early = fp.peek(min(want, 65536))[:want] if fp is not None else b""
        if early:
            fp.read(len(early))
            _write_all(fd, memoryview(early))
            writer.appended(len(early))
            got = len(early)
        assert self.conn.sock is not None
        sock = self.conn.sock.fileno()
        pipe_r, pipe_w = os.pipe()
        try:
            with contextlib.suppress(OSError):
                import fcntl

                fcntl.fcntl(pipe_w, _F_SETPIPE_SZ, SPLICE_MAX)
            while got < want:
                try:
                    n = os.splice(sock, pipe_w, min(SPLICE_MAX, want - got), flags=_SPLICE_F_MOVE)
                except BlockingIOError:  # the socket has a timeout, so it is non-blocking underneath
                    if not select.select([sock], [], [], self.timeout)[0]:
                        raise TimeoutError(f"no bytes from upstream for {self.timeout:g} s") from None
                    continue
                if n == 0:
                    break  # upstream closed: the caller resumes with a Range request
                while n:
                    m = os.splice(pipe_r, fd, n, flags=_SPLICE_F_MOVE)
                    writer.appended(m)
                    n -= m
                    got += m
                if got - told >= NOTIFY_EVERY:
                    told = got
                    progress()
        finally:
            os.close(pipe_r)
            os.close(pipe_w)
            progress()


_SPLICE_F_MOVE = getattr(os, "SPLICE_F_MOVE", 1)


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _connect(url: str, timeout: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    if parts.scheme == "http":
        return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    raise UpstreamDown(f"unsupported upstream scheme in {parts.scheme}://")


def open_body(url: str, headers: dict[str, str], timeout: float) -> UpstreamBody:
    """GET `url` following redirects; the open body, or HubError (relayed 4xx) / UpstreamDown.

    Blocking: call it in a worker thread.
    """
    origin = urlsplit(url).netloc
    headers = dict(headers)
    for _ in range(MAX_REDIRECTS + 1):
        conn = _connect(url, timeout)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
        except _NET_ERRORS as exc:
            conn.close()
            raise UpstreamDown(f"{type(exc).__name__}: {exc}") from exc
        location = resp.getheader("Location")
        if resp.status in (301, 302, 303, 307, 308) and location:
            conn.close()
            url = urljoin(url, location)
            if urlsplit(url).netloc != origin:
                headers.pop("Authorization", None)  # never hand the caller's token to another host
            continue
        if resp.status in RELAYED:
            conn.close()
            raise HubError(
                resp.status,
                resp.getheader("X-Error-Code"),
                resp.getheader("X-Error-Message") or f"Upstream answered {resp.status}.",
                commit=resp.getheader("X-Repo-Commit"),
            )
        if resp.status >= 400:
            conn.close()
            raise UpstreamDown(f"{resp.status} from upstream")
        if "Range" in headers and resp.status != 206:
            conn.close()
            raise UpstreamDown("upstream ignored the Range request")
        return UpstreamBody(conn, resp, timeout)
    raise UpstreamDown(f"more than {MAX_REDIRECTS} redirects from upstream")
