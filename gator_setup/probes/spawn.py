"""A child process with its stdout and stderr collected, started without the subprocess module.

The `--python` query of `gator scan` and `gator doctor` is one short process started while gator
imports the rest of itself; importing `subprocess` (with selectors, signal, threading) is a
measurable part of that start, on the path every cold scan waits on (figures: docs/imports.md,
"Start-up and engine figures"). `os.posix_spawn` with two pipes
does the same job for this one use; where it is missing (Windows) `subprocess` is used as before.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from typing import Any


class SpawnTimeout(Exception):
    """The process did not end (and close its output) in time."""


class Spawned:
    """A started process; `communicate` collects its output and exit code, as Popen's does."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        self.returncode: int | None = None
        self._popen: Any = None
        self._fds: tuple[int, ...] = ()
        if not hasattr(os, "posix_spawn"):
            import subprocess

            self._popen = subprocess.Popen(
                list(argv),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                env=dict(env),
            )
            self.pid = self._popen.pid
            return
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            if min(out_w, err_w) < 3:  # (a closed stdin/stdout/stderr handed out a low fd)
                raise OSError("standard streams closed")
            self.pid = os.posix_spawn(
                argv[0],
                list(argv),
                dict(env),
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, out_w, 1),
                    (os.POSIX_SPAWN_DUP2, err_w, 2),
                ],
            )
        except BaseException:
            for fd in (out_r, err_r):
                os.close(fd)
            raise
        finally:
            for fd in (out_w, err_w):
                os.close(fd)
        self._fds = (out_r, err_r)

    def communicate(self, timeout: float) -> tuple[str, str]:
        """(stdout, stderr) as text, once the process has ended; SpawnTimeout after `timeout` s."""
        if self._popen is not None:
            import subprocess

            try:
                out, err = self._popen.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise SpawnTimeout from None
            self.returncode = self._popen.returncode
            return _text(out), _text(err)
        import select

        deadline = time.monotonic() + timeout
        chunks: dict[int, list[bytes]] = {fd: [] for fd in self._fds}
        open_fds = list(self._fds)
        while open_fds:  # (on a timeout the caller kills and reaps the process)
            left = deadline - time.monotonic()
            if left <= 0:
                raise SpawnTimeout
            ready, _w, _x = select.select(open_fds, [], [], left)
            for fd in ready:
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    chunks[fd].append(chunk)
                else:
                    open_fds.remove(fd)
        _pid, status = os.waitpid(self.pid, 0)
        self.returncode = os.waitstatus_to_exitcode(status)
        out, err = (b"".join(chunks[fd]) for fd in self._fds)
        self._close()
        return _text(out), _text(err)

    def ready(self) -> bool:
        """True when the process has written to stdout or closed it (an answer printed in one
        go at its end, as the interpreter query does, is then complete or nearly so)."""
        if self._popen is not None:
            return bool(self._popen.poll() is not None)
        import select

        readable, _w, _x = select.select(self._fds[:1], [], [], 0)
        return bool(readable)

    def kill(self) -> None:
        """End the process (after a timeout) and reap it."""
        if self._popen is not None:
            self._popen.kill()
            self._popen.wait()
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        self._close()

    def _close(self) -> None:
        fds, self._fds = self._fds, ()
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def _text(data: bytes) -> str:
    """Output as text, its line ends made "\\n" (what Popen(text=True) gives)."""
    return data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
