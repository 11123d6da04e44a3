"""Connections from hostile clients: caps per client and in total that keep room for real clients, and
error answers that never echo what the client sent.

aiohttp closes a connection that sends nothing, or only part of its headers, after its keep-alive
timeout (set from `idle_timeout`); a request body that stalls is the route's `body_timeout`. What it
does not do is keep file descriptors for real clients: with 1,100 idle sockets and a 1,024 open-file
limit every real request timed out (issue 17). Here a new connection over a cap takes the place of
the connection idle the longest (no request in progress, nothing left to send), so idle sockets
cannot lock anyone out; only when every connection is busy is the newcomer refused with a 503.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger("gator.mirror.guard")
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"X-Error-Code: TooManyConnections\r\nConnection: close\r\nContent-Length: 34\r\n\r\n"
    b'{"error": "Too many connections."}'
)


def default_caps(total: int | None, per_client: int | None) -> tuple[int, int]:
    """Connection caps from the open-file limit: each busy connection may hold a socket and a file,
    and the store, the upstream and the log need some descriptors of their own."""
    if total is None:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        soft = 65536 if soft == resource.RLIM_INFINITY else soft
        total = max(8, (soft - 64) // 2)
    if per_client is None:
        per_client = max(4, total // 2)
    return total, min(per_client, total)


class SafeRequestHandler(RequestHandler):
    """aiohttp's handler, but a malformed request is answered without echoing it (it may hold a token)."""

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # Logged through gator.mirror.guard (redacted and rate-limited); the body names no input.
        log.info("bad request from %s: %s", request.remote, f"{type(exc).__name__}: {exc}" if exc else status)
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response")
        text = "Malformed request." if status < 500 else "Internal error in gator mirror (see server log)."
        resp = web.Response(status=status, text=f'{{"error": "{text}"}}', content_type="application/json")
        resp.force_close()
        return resp


class ConnectionGuard:
    """Admits connections under the caps, evicting the longest-idle one to make room."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self.open: dict[GuardedProtocol, None] = {}  # in order of admission
        self.by_client: dict[str, int] = {}
        self.evicted = 0
        self.refused = 0

    def wrap(self, inner: RequestHandler) -> GuardedProtocol:
        return GuardedProtocol(self, inner)

    def admit(self, conn: GuardedProtocol) -> bool:
        """Make room for `conn` if a cap is reached; False when every connection in the way is busy."""
        crowded_client = self.by_client.get(conn.client, 0) >= self.per_client
        if crowded_client or len(self.open) >= self.total:
            victim = self._longest_idle(conn.client if crowded_client else None)
            if victim is None:
                self.refused += 1
                log.warning("connection refused: %d open, all busy (cap %d)", len(self.open), self.total)
                return False
            self.evicted += 1
            log.info("closed an idle connection from %s to make room", victim.client)
            victim.evict()
        self.open[conn] = None
        self.by_client[conn.client] = self.by_client.get(conn.client, 0) + 1
        return True

    def forget(self, conn: GuardedProtocol) -> None:
        if self.open.pop(conn, "gone") is None:
            left = self.by_client.get(conn.client, 1) - 1
            if left > 0:
                self.by_client[conn.client] = left
            else:
                self.by_client.pop(conn.client, None)

    def _longest_idle(self, client: str | None) -> GuardedProtocol | None:
        best: GuardedProtocol | None = None
        for conn in self.open:
            mine = client is None or conn.client == client
            if mine and conn.idle() and (best is None or conn.last_seen < best.last_seen):
                best = conn
        return best


class GuardedProtocol(asyncio.Protocol):
    """Wraps aiohttp's RequestHandler for one connection: admission, activity, eviction."""

    def __init__(self, guard: ConnectionGuard, inner: RequestHandler) -> None:
        self.guard = guard
        self.inner = inner
        self.transport: asyncio.Transport | None = None
        self.client = "?"
        self.last_seen = 0.0
        self.admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        self.last_seen = asyncio.get_running_loop().time()
        if not self.guard.admit(self):
            transport.write(BUSY)
            transport.close()
            return
        self.admitted = True
        self.inner.connection_made(transport)

    def idle(self) -> bool:
        """No request being handled and nothing left to send (between requests, or mid-headers)."""
        if getattr(self.inner, "_request_in_progress", False):
            return False
        return self.transport is None or self.transport.get_write_buffer_size() == 0

    def evict(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.admitted:
            self.last_seen = asyncio.get_running_loop().time()
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self.admitted:
            self.inner.eof_received()
        return None

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.admitted:
            self.guard.forget(self)
            self.admitted = False
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self.inner.resume_writing()
