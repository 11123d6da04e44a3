"""Running the mirror: blocking `serve` for the CLI and `BackgroundServer` (a thread) for tests and tools."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import threading
from typing import Any

from gator_setup.errors import UsageError
from gator_setup.mirror.auth import LOOPBACK
from gator_setup.mirror.config import MirrorConfig

log = logging.getLogger("gator.mirror")


def check_config(config: MirrorConfig) -> None:
    """Refuse combinations that would expose an open server or make no sense."""
    if config.tokens_file is None and config.host not in LOOPBACK:
        raise UsageError(
            f"Refusing to serve {config.host} without --tokens: open development mode is loopback-only.",
            hint="Give --tokens FILE (lines 'TOKEN USER read|write') or use --host 127.0.0.1.",
        )
    if config.offline and not config.upstream:
        # --offline alone is just local mode; accepted so scripts can always pass it.
        pass


def _startup_lines(config: MirrorConfig, port: int) -> list[str]:
    mode = f"pull-through from {config.upstream}" if config.upstream else "local"
    if config.upstream and config.offline:
        mode += " (offline: stored content only)"
    lines = [f"gator mirror: serving {config.storage} on http://{config.host}:{port} ({mode})"]
    if config.tokens_file is None:
        lines.append(
            "gator mirror: open development mode: no tokens file, any token may write (loopback only)"
        )
    lines.append(f"gator mirror: clients: export HF_ENDPOINT=http://{config.host}:{port}")
    return lines


class _Running:
    """The aiohttp runner plus the listening socket it serves through the connection guard."""

    def __init__(self, runner: Any, server: asyncio.AbstractServer, guard: Any) -> None:
        self.runner = runner
        self.server = server
        self.guard = guard
        self.app = runner.app

    async def cleanup(self) -> None:
        self.server.close()
        await self.runner.cleanup()


async def _start(
    config: MirrorConfig, sock: socket.socket | None = None, *, reuse_port: bool = False
) -> tuple[_Running, int]:
    from aiohttp import web

    from gator_setup.mirror.app import ACCESS_LOG_FORMAT, make_app
    from gator_setup.mirror.guard import ConnectionGuard, SafeRequestHandler, default_caps
    from gator_setup.mirror.logs import guard_logs
    from gator_setup.mirror.state import STATE

    app = make_app(config)
    state = app[STATE]
    guard_logs(state.auth.secrets() + ([config.upstream_token] if config.upstream_token else []))
    handler_args: dict[str, Any] = {
        # Also the deadline for a new connection's first request and for its headers.
        "keepalive_timeout": config.idle_timeout,
        "access_log": logging.getLogger("gator.mirror.access") if config.access_log else None,
        "access_log_format": ACCESS_LOG_FORMAT,
    }
    runner = web.AppRunner(app, handle_signals=False, **handler_args)
    await runner.setup()
    manager = runner.server
    assert manager is not None
    loop = asyncio.get_running_loop()
    guard = ConnectionGuard(*default_caps(config.max_connections, config.max_connections_per_client))
    state.guard = guard

    def protocol() -> asyncio.Protocol:
        return guard.wrap(SafeRequestHandler(manager, loop=loop, **handler_args))

    if sock is not None:
        server = await loop.create_server(protocol, sock=sock, backlog=1024)
    else:
        server = await loop.create_server(
            protocol,
            config.host,
            config.port,
            reuse_address=True,
            reuse_port=reuse_port or None,
            backlog=1024,
        )
    port = server.sockets[0].getsockname()[1]
    return _Running(runner, server, guard), port


def serve(config: MirrorConfig, workers: int = 1) -> None:
    """Serve until interrupted (the CLI); `workers` > 1 runs that many processes (workers.py)."""
    check_config(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    from gator_setup.mirror.tmpfiles import clean_tmp

    cleaned = clean_tmp(config.storage)  # partial files of transfers killed in an earlier run
    if cleaned.files:
        log.info("removed %d abandoned temp files (%d bytes)", cleaned.files, cleaned.bytes)

    if workers > 1:
        from gator_setup.mirror.workers import run_workers

        def announce(port: int) -> None:
            for line in _startup_lines(config, port):
                print(line, file=sys.stderr, flush=True)
            print(f"gator mirror: {workers} worker processes on port {port}", file=sys.stderr, flush=True)

        try:
            run_workers(config, workers, announce, _start)
        except KeyboardInterrupt:
            print("gator mirror: stopped", file=sys.stderr)
        return

    async def main() -> None:
        runner, port = await _start(config)
        for line in _startup_lines(config, port):
            print(line, file=sys.stderr, flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("gator mirror: stopped", file=sys.stderr)


class BackgroundServer:
    """The mirror on 127.0.0.1 in a daemon thread with its own event loop; `url` once started."""

    def __init__(self, config: MirrorConfig) -> None:
        check_config(config)
        self.config = config
        self.url = ""
        self.state: Any = None
        self._loop = asyncio.new_event_loop()
        self._runner: Any = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="gator-mirror", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def boot() -> None:
            from gator_setup.mirror.state import STATE

            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.config.host, self.config.port))
            self._runner, port = await _start(self.config, sock)
            self.state = self._runner.app[STATE]
            self.url = f"http://{self.config.host}:{port}"

        try:
            self._loop.run_until_complete(boot())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> BackgroundServer:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._runner is not None and self._loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            try:
                fut.result(15)
                # the loop's executor threads (file hashing) end too, not at process exit
                asyncio.run_coroutine_threadsafe(self._loop.shutdown_default_executor(), self._loop).result(
                    15
                )
            except Exception:
                log.debug("mirror cleanup failed", exc_info=True)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(15)
