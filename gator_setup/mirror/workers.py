"""`gator mirror serve --workers N`: N processes serving one port, each with its own SO_REUSEPORT socket.

The kernel spreads incoming connections over the listening sockets of the group (Linux 3.9+), so no
process hands connections to the others and there is no accept lock: each worker is the
single-process server, with its own event loop, reading the same store and the same tokens file, so
every access rule holds in each of them. What crosses processes goes through the store: commits,
refs and blobs (written temp + rename), single-flight of cold fetches (flight.py) and use records
(usage.py).

The parent only starts the workers (multiprocessing, spawn: no state is copied from the parent),
waits for them and stops them together: a worker that dies takes the others down and the parent
exits non-zero, so the service manager (systemd `Restart=on-failure`) restarts the whole set. Workers
leave if the parent disappears.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from typing import Any

from gator_setup.errors import GatorError, UsageError
from gator_setup.mirror.config import MirrorConfig

log = logging.getLogger("gator.mirror")
READY_TIMEOUT_S = 60.0


def default_workers() -> int:
    """One worker per core this process may run on (Linux; one elsewhere: BSD and macOS give all
    connections of a SO_REUSEPORT group to one socket instead of spreading them)."""
    if not sys.platform.startswith("linux"):
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _reserve_port(host: str, port: int) -> socket.socket:
    """A bound, non-listening SO_REUSEPORT socket holding the port until the workers have bound it.

    Checked first without SO_REUSEPORT: another server on the port (even another gator started with
    --workers) would otherwise silently share its connections with this one.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(f"Cannot bind {host}:{port}: {exc.strerror or exc}.") from None
        port = probe.getsockname()[1]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


StartFn = Callable[..., Awaitable[tuple[Any, int]]]


def run_workers(config: MirrorConfig, workers: int, announce: Callable[[int], None], start: StartFn) -> None:
    """Start `workers` processes on config.host:config.port and wait until they stop.

    `start(config, reuse_port=True)` starts one server in a worker's event loop (server._start, passed
    in by reference so that this module does not import the server module that imports it).
    """
    if not hasattr(socket, "SO_REUSEPORT"):
        raise UsageError("--workers needs SO_REUSEPORT (Linux, BSD); use --workers 1 here.")
    if config.tokens_file is not None:
        from gator_setup.mirror.auth import load_tokens

        load_tokens(config.tokens_file)  # a bad file is one error here, not one per worker
    reservation = _reserve_port(config.host, config.port)
    config = replace(config, port=reservation.getsockname()[1])
    ctx = multiprocessing.get_context("spawn")
    procs: list[Any] = []
    pipes: list[Connection] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.is_alive():
                with contextlib.suppress(OSError):
                    os.kill(p.pid, signal.SIGTERM)

    old_term = signal.signal(signal.SIGTERM, stop)
    try:
        for i in range(workers):
            parent_end, child_end = ctx.Pipe(duplex=False)
            p = ctx.Process(target=worker_main, args=(config, child_end, start), name=f"gator-mirror-{i}")
            p.start()
            child_end.close()
            procs.append(p)
            pipes.append(parent_end)
        for i, conn in enumerate(pipes):
            if not conn.poll(READY_TIMEOUT_S):
                raise GatorError(f"mirror worker {i} did not start within {READY_TIMEOUT_S:.0f} s.")
            try:
                status = conn.recv()
            except EOFError:
                status = "exited during start-up (see the log above)"
            if status != "ready":
                raise GatorError(f"mirror worker {i}: {status}")
        reservation.close()
        announce(config.port)
        by_sentinel = {p.sentinel: p for p in procs}
        done: list[Any] = []
        while not done:
            with contextlib.suppress(InterruptedError):
                done = wait(list(by_sentinel))
        if not stopping:
            dead = by_sentinel[done[0]]
            dead.join(5)
            stop()
            raise GatorError(
                f"mirror worker {dead.name} exited with code {dead.exitcode}; stopped all workers."
            )
    except KeyboardInterrupt:
        stop()
        raise
    finally:
        reservation.close()
        stop()
        for p in procs:
            p.join(15)
            if p.is_alive():
                p.kill()
                p.join()
        signal.signal(signal.SIGTERM, old_term)


def worker_main(config: MirrorConfig, ready: Connection, start: StartFn) -> None:
    """One worker: the single-process server on a SO_REUSEPORT socket, until SIGTERM/SIGINT."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s[%(process)d] %(message)s", stream=sys.stderr
    )
    parent = os.getppid()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            runner, _ = await start(config, reuse_port=True)
        except OSError as exc:
            ready.send(f"cannot serve {config.host}:{config.port}: {exc.strerror or exc}")
            return
        except GatorError as exc:  # e.g. the tokens file changed between the check and this start
            ready.send(str(exc))
            return
        ready.send("ready")
        ready.close()
        try:
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
                if os.getppid() != parent:  # the parent is gone: nobody would stop this worker
                    break
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
