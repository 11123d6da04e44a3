"""Child processes forked from this one, each answering tasks sent over its own pair of pipes.

What a cold scan needs from worker processes is little: send a list of files, get their triage
back, while this process keeps working itself. `concurrent.futures.ProcessPoolExecutor` does far
more (a management thread, a call queue and its feeder thread, futures, one pickled call per
task) and its workers cannot share the work with the process that started them. Here the parent
is one of the workers: it forks `n` children, keeps each fed with at most a few tasks, and does
work of its own between their replies (see `scan._analyze_parallel`).

A message is a 4-byte length and a pickle. A child that dies (killed by the OOM killer, say) or
fails on a task is dropped; the caller gets `ChildLost` and does that child's outstanding tasks
itself. Linux only (fork), from a single-threaded process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
from collections.abc import Callable
from typing import Any

_LEN = struct.Struct("<I")
_F_SETPIPE_SZ = 1031  # fcntl: set a pipe's capacity (Linux)
_F_GETPIPE_SZ = 1032
PIPE_BYTES = 1 << 20
DEFAULT_PIPE_BYTES = 1 << 16  # a Linux pipe's capacity unless widened


class ChildLost(Exception):
    """A child ended (or failed on its task) before replying."""


class Child:
    """One forked child: its pid and our ends of its two pipes."""

    def __init__(self, pid: int, tasks: int, replies: int) -> None:
        self.pid = pid
        self.tasks = tasks  # write end, ours
        self.replies = replies  # read end, ours


class Fanout:
    """`n` forked children, each running `serve(task) -> reply` on every task it is sent."""

    def __init__(self, n: int, serve: Callable[[Any], Any]) -> None:
        self.children: list[Child] = []
        #: The smallest task pipe's capacity. A caller that keeps at most k tasks outstanding per
        #: child, each pickled in under 1/k of this, never blocks in send(): the pipe holds at
        #: most the k - 1 unread ones and the new one. (Were the parent blocked in send() while the
        #: child blocked writing a reply the parent is not reading, both would wait forever.)
        self.pipe_bytes = PIPE_BYTES
        try:
            for _ in range(n):
                self.children.append(self._fork(serve))
        except BaseException:
            self.close()
            raise

    def _fork(self, serve: Callable[[Any], Any]) -> Child:
        task_r, task_w = os.pipe()
        reply_r, reply_w = os.pipe()
        for fd in (task_w, reply_w):
            got = _widen(fd)
            if fd == task_w:
                self.pipe_bytes = min(self.pipe_bytes, got)
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(task_w)
                os.close(reply_r)
                for c in self.children:  # siblings' ends: their EOF must not wait for us
                    os.close(c.tasks)
                    os.close(c.replies)
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it quietly
                _serve_loop(task_r, reply_w, serve)
                code = 0
            finally:
                os._exit(code)
        os.close(task_r)
        os.close(reply_w)
        return Child(pid, task_w, reply_r)

    def send(self, child: Child, task: Any) -> None:
        """Send one task (the caller keeps its outstanding tasks under the pipe's capacity);
        raises ChildLost (and drops the child) when the child is gone."""
        try:
            _write(child.tasks, pickle.dumps(task, pickle.HIGHEST_PROTOCOL))
        except OSError as exc:  # EPIPE: the child has ended
            self._drop(child)
            raise ChildLost from exc

    def ready(self, timeout: float | None) -> list[Child]:
        """The children with a reply (or their end) waiting, after at most `timeout` seconds."""
        if not self.children:
            return []
        poll = select.poll()
        by_fd = {}
        for c in self.children:
            by_fd[c.replies] = c
            poll.register(c.replies, select.POLLIN)
        events = poll.poll(None if timeout is None else int(timeout * 1000))
        return [by_fd[fd] for fd, _ev in events]

    def receive(self, child: Child) -> Any:
        """The child's next reply; raises ChildLost (and drops the child) when there is none."""
        reply: tuple[str, Any] = ("lost", None)
        try:
            head = _read_exact(child.replies, _LEN.size)
            if head:
                reply = pickle.loads(_read_exact(child.replies, _LEN.unpack(head)[0]))
        except (OSError, ValueError, pickle.UnpicklingError, EOFError) as exc:
            self._drop(child)
            raise ChildLost from exc
        if reply[0] != "ok":  # its end, or its report of a task that failed
            self._drop(child)
            raise ChildLost(reply[1])
        return reply[1]

    def _drop(self, child: Child) -> None:
        if child in self.children:
            self.children.remove(child)
        _end(child)

    def close(self) -> None:
        """End every child (EOF on its task pipe, then a kill if it lingers) and reap it."""
        for child in self.children:
            _end(child)
        self.children = []


def _end(child: Child) -> None:
    for fd in (child.tasks, child.replies):
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(OSError):
        os.kill(child.pid, signal.SIGKILL)  # done with it: its replies are all read or unwanted
    with contextlib.suppress(OSError):
        os.waitpid(child.pid, 0)


def _widen(fd: int) -> int:
    """A larger pipe buffer (fewer blocked writes of large replies), best effort; the capacity."""
    try:
        import fcntl

        fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_BYTES)
        return int(fcntl.fcntl(fd, _F_GETPIPE_SZ))
    except (ImportError, OSError):
        return DEFAULT_PIPE_BYTES


def _serve_loop(tasks: int, replies: int, serve: Callable[[Any], Any]) -> None:
    while True:
        head = _read_exact(tasks, _LEN.size)
        if not head:
            return  # the parent is done with us
        task = pickle.loads(_read_exact(tasks, _LEN.unpack(head)[0]))
        try:
            reply: tuple[str, Any] = ("ok", serve(task))
        except Exception as exc:  # reported; the parent does the task itself
            reply = ("error", f"{type(exc).__name__}: {exc}")
        _write(replies, pickle.dumps(reply, pickle.HIGHEST_PROTOCOL))


def _write(fd: int, body: bytes) -> None:
    view = memoryview(_LEN.pack(len(body)) + body)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int) -> bytes:
    """`n` bytes from `fd`, or b"" at an end of file before the first byte."""
    chunks: list[bytes] = []
    got = 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            if got:
                raise EOFError("truncated message")
            return b""
        chunks.append(chunk)
        got += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
