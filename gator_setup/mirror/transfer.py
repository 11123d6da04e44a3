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
the mirror. Authorization is dropped when a redirect leaves the origin, as HTTP clients do.
Connections are kept alive in a `ConnectionPool` per origin (a TLS handshake with the Hub and one with
its CDN per file would add up over a model of many shards); a pooled connection the server closed
while idle is replaced once, transparently. Small, non-LFS files keep using the aiohttp session.
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
from urllib.parse import SplitResult, urljoin, urlsplit

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
        self,
        conn: http.client.HTTPConnection,
        resp: http.client.HTTPResponse,
        timeout: float,
        pool: ConnectionPool | None = None,
        url: str = "",
        sock: socket.socket | None = None,
    ) -> None:
        self.conn = conn
        self.resp = resp
        self.timeout = timeout
        self.pool = pool
        self.url = url
        # The socket, kept here: http.client forgets it (conn.sock = None) on a "will close" response
        # while the response still reads from it.
        self.sock = sock if sock is not None else conn.sock
        length = resp.getheader("Content-Length")
        self.length = int(length) if length and length.isdigit() else None
        self._closed = threading.Event()
        self._pumping = False
        self._released = False
        self._lock = threading.Lock()  # close() (any thread) vs the pump's start, release and end

    def _release(self) -> None:
        """The body was read whole: the connection goes back to the pool instead of being closed."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
        if self.pool is None or self.resp.will_close or self.conn.sock is None:
            return  # the pump's end closes it
        self.resp.close()  # marks the exchange done; the socket stays with the connection
        self._released = True  # from here on the connection is the pool's: never touch it again
        self.pool.give(self.url, self.conn)

    def _really_close(self) -> None:
        with contextlib.suppress(Exception):
            self.resp.close()
        with contextlib.suppress(Exception):
            self.conn.close()
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()

    def close(self) -> None:
        """Safe from any thread: a pump blocked on the socket wakes up with an error.

        While a pump runs, only shutdown() happens here: closing would free the descriptor number
        for reuse while the pump thread may still splice from it; the pump closes it when it ends.
        """
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            pumping = self._pumping
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
        if not pumping:
            self._really_close()

    def pump(self, writer: BlobWriter, limit: int, progress: Callable[[], object]) -> None:
        """Append the body (at most `limit` bytes) to `writer`, calling `progress` as it grows.

        Runs in a worker thread; `progress` must be thread-safe (it schedules work on the loop).
        """
        with self._lock:
            if self._closed.is_set():
                raise UpstreamDown("fetch cancelled")
            self._pumping = True
        try:
            if self.length is not None and self.length > limit:
                raise BlobMismatch(f"upstream announced {self.length} bytes where {limit} remain")
            want = limit if self.length is None else self.length
            plain = self.conn.sock is not None and not isinstance(self.sock, ssl.SSLSocket)
            if plain and self.length is not None and hasattr(os, "splice"):
                whole = self._splice(writer, want, progress)
            else:  # HTTPS, chunked, or a connection http.client already handed to the response
                whole = self._copy(writer, want, progress)
            if self._closed.is_set():  # a shut-down socket reads as EOF: say why the body stopped
                raise UpstreamDown("fetch cancelled")
            if whole:
                self._release()
        except _NET_ERRORS as exc:
            if self._closed.is_set():
                raise UpstreamDown("fetch cancelled") from None
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                raise
            raise UpstreamDown(f"{type(exc).__name__}: {exc}") from exc
        finally:
            with self._lock:
                self._pumping = False
                self._closed.set()
            if not self._released:
                self._really_close()  # only the pumping thread closes a socket it reads from

    def _copy(self, writer: BlobWriter, want: int, progress: Callable[[], object]) -> bool:
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
        # http.client closes the response at the body's end, and also when the upstream hung up early.
        return self.resp.isclosed() and (self.length is None or got == self.length)

    def _splice(self, writer: BlobWriter, want: int, progress: Callable[[], object]) -> bool:
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
        assert self.sock is not None
        sock = self.sock.fileno()
        waiter = select.poll()  # not select(): descriptor numbers above 1024 are fine here
        waiter.register(sock, select.POLLIN)
        pipe_r, pipe_w = os.pipe()
        try:
            with contextlib.suppress(OSError):
                import fcntl

                fcntl.fcntl(pipe_w, _F_SETPIPE_SZ, SPLICE_MAX)
            while got < want:
                try:
                    n = os.splice(sock, pipe_w, min(SPLICE_MAX, want - got), flags=_SPLICE_F_MOVE)
                except BlockingIOError:  # the socket has a timeout, so it is non-blocking underneath
                    if not waiter.poll(self.timeout * 1000):
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
        return got == self.length


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


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class ConnectionPool:
    """Idle keep-alive connections per origin, shared by the worker threads."""

    def __init__(self, per_origin: int = 4) -> None:
        self.per_origin = per_origin
        self.opened = 0  # new connections made (tests check reuse with it)
        self._idle: dict[tuple[str, str], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def take(self, url: str, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """(connection, reused): an idle one for the URL's origin, else a new one."""
        with self._lock:
            idle = self._idle.get(_origin(url))
            conn = idle.pop() if idle else None
            if conn is None:
                self.opened += 1
        if conn is None:
            return _connect(url, timeout), False
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn, True

    def give(self, url: str, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(_origin(url), [])
            if not self._closed and len(idle) < self.per_origin:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()


def _exchange(
    pool: ConnectionPool, url: str, headers: dict[str, str], timeout: float
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, socket.socket | None]:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    while True:
        conn, reused = pool.take(url, timeout)
        try:
            conn.request("GET", target, headers=headers)
            sock = conn.sock  # before getresponse(), which drops it from conn on a "will close" answer
            return conn, conn.getresponse(), sock
        except (ConnectionError, http.client.BadStatusLine) as exc:
            conn.close()
            if reused:
                continue  # the server closed it while it sat idle: nothing was sent, ask on a new one
            raise UpstreamDown(f"{type(exc).__name__}: {exc}") from exc
        except _NET_ERRORS as exc:
            conn.close()
            raise UpstreamDown(f"{type(exc).__name__}: {exc}") from exc


def _done_with(
    pool: ConnectionPool, url: str, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse
) -> None:
    """After a response that is not handed on (redirect, error): keep the connection if its body is small."""
    try:
        if not resp.will_close and resp.length is not None and resp.length <= 65536:
            resp.read()
            pool.give(url, conn)
            return
    except _NET_ERRORS:
        pass
    conn.close()


def keeps_token(origin: SplitResult, target: SplitResult) -> bool:
    """May a redirect from `origin` to `target` carry the caller's token? Only to the same host, and
    never from https down to plain http."""
    return target.netloc == origin.netloc and (target.scheme == origin.scheme or target.scheme == "https")


def open_body(
    url: str, headers: dict[str, str], timeout: float, pool: ConnectionPool | None = None
) -> UpstreamBody:
    """GET `url` following redirects; the open body, or HubError (relayed 4xx) / UpstreamDown.

    Blocking: call it in a worker thread. Without a pool, connections are not reused.
    """
    pool = pool if pool is not None else ConnectionPool(per_origin=0)
    origin = urlsplit(url)
    headers = dict(headers)
    for _ in range(MAX_REDIRECTS + 1):
        conn, resp, sock = _exchange(pool, url, headers, timeout)
        location = resp.getheader("Location")
        if resp.status in (301, 302, 303, 307, 308) and location:
            _done_with(pool, url, conn, resp)
            url = urljoin(url, location)
            if not keeps_token(origin, urlsplit(url)):
                headers.pop("Authorization", None)
            continue
        if resp.status in RELAYED:
            _done_with(pool, url, conn, resp)
            raise HubError(
                resp.status,
                resp.getheader("X-Error-Code"),
                resp.getheader("X-Error-Message") or f"Upstream answered {resp.status}.",
                commit=resp.getheader("X-Repo-Commit"),
            )
        if resp.status >= 400:
            _done_with(pool, url, conn, resp)
            raise UpstreamDown(f"{resp.status} from upstream")
        if "Range" in headers:
            start = headers["Range"].removeprefix("bytes=").split("-")[0]
            if resp.status != 206 or not (resp.getheader("Content-Range") or "").startswith(
                f"bytes {start}-"
            ):
                conn.close()
                raise UpstreamDown("upstream did not answer the Range request from the offset asked")
        return UpstreamBody(conn, resp, timeout, pool, url, sock)
    raise UpstreamDown(f"more than {MAX_REDIRECTS} redirects from upstream")
