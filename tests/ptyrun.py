"""Run a command in a real pseudo-terminal of a given width and return what the terminal received."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
from collections.abc import Mapping
from pathlib import Path


def run_in_pty(
    argv: list[str],
    *,
    columns: int = 80,
    rows: int = 50,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    with_stderr: bool = True,
    timeout: float = 60,
) -> tuple[int, bytes]:
    """(exit code, bytes the terminal got). Without `with_stderr`, stderr goes to /dev/null (a
    spinner erases itself on a real terminal, but a raw capture keeps every frame of it)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(
        argv,
        stdout=follower,
        stderr=follower if with_stderr else subprocess.DEVNULL,
        cwd=cwd,
        env=dict(env) if env is not None else None,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: every writer of the terminal has closed it
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=timeout), b"".join(chunks).replace(b"\r\n", b"\n")


def terminal_env(**extra: str) -> dict[str, str]:
    """This environment as a colour terminal sees it: no NO_COLOR, no COLUMNS/LINES overrides."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env
