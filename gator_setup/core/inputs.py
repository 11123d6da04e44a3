"""Checks of user-given paths and ports, so a mistake is a one-line error naming the value and the fix.

Each raises a UsageError (exit 2) before any work starts; without them the same mistakes surfaced
deep inside (NotADirectoryError from the store, OverflowError from bind) as "internal error ...
this is a gator bug".
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

from gator_setup.errors import UsageError


def writable_folder(path: Path, option: str, *, create: bool = True, write: bool = True) -> Path:
    """`path` as a folder gator can write into (created when `create` and missing; only read when
    not `write`)."""
    shown = f"{option} {path}"
    if path.exists() and not path.is_dir():
        raise UsageError(f"{shown}: is a file, not a folder.", hint=f"Pass a folder to {option}.")
    if not path.exists():
        if not create:
            raise UsageError(f"{shown}: no such folder.", hint=f"Pass an existing folder to {option}.")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"{shown}: cannot create the folder ({_reason(exc, path)}).",
                hint=f"Pass a folder you can write to, to {option}.",
            ) from None
    if write and not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(
            f"{shown}: not writable by this user.", hint=f"Pass a folder you can write to, to {option}."
        )
    return path


def readable_file(path: Path, option: str) -> Path:
    """`path` as an existing, readable file."""
    shown = f"{option} {path}" if option else str(path)
    if not path.exists():
        raise UsageError(f"{shown}: no such file.")
    if path.is_dir():
        raise UsageError(f"{shown}: is a folder, not a file.")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{shown}: not readable by this user.")
    return path


def _reason(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ENOTDIR:
        parent = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        return f"{parent} is a file" if parent else "a parent is a file"
    return exc.strerror or str(exc)


def bindable(host: str, port: int, *, port_option: str = "--port", host_option: str = "--host") -> None:
    """Refuse a port outside 0-65535, one in use, one this user may not bind, or a host that is not
    an address of this machine. (A port can still be taken between this check and the real bind.)"""
    if not 0 <= port <= 65535:
        raise UsageError(
            f"{port_option} {port}: not a TCP port.", hint="Use 1024-65535 (0 picks a free port)."
        )
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(
            f"{host_option} {host}: not a known address ({exc}).", hint="Use e.g. 127.0.0.1 or 0.0.0.0."
        ) from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # The same option the server binds with: a port left in TIME_WAIT is not "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            raise bind_error(host, port, exc, port_option=port_option, host_option=host_option) from None


def bind_error(
    host: str, port: int, exc: OSError, *, port_option: str = "--port", host_option: str = "--host"
) -> UsageError:
    """The one-line error for a failed bind of host:port."""
    if exc.errno == errno.EADDRINUSE:
        return UsageError(
            f"Cannot bind {host}:{port} ({port_option} {port}): already in use (another server, or a "
            "gator mirror still running?).",
            hint=f"Pick another {port_option}, or stop what listens there.",
        )
    if exc.errno == errno.EACCES:
        return UsageError(
            f"{port_option} {port}: this user may not listen on port {port}.",
            hint=f"Use a {port_option} of 1024 or more.",
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return UsageError(
            f"{host_option} {host}: not an address of this machine.", hint="Use e.g. 127.0.0.1 or 0.0.0.0."
        )
    return UsageError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.")


def http_url(value: str, option: str) -> str:
    """`value` as an http(s) URL with a host, without a trailing slash."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"{option} {value!r}: not an http(s) URL.", hint=f"Use e.g. {option} https://huggingface.co."
        )
    return value.rstrip("/")


def new_file(path: Path, option: str) -> Path:
    """`path` as a file gator may write: a name, in an existing folder, not a folder itself."""
    shown = f"{option} {path}".strip()
    if not path.name or path.is_dir():
        raise UsageError(f"{shown}: is a folder, not a file name.", hint=f"Pass {option} DIR/NAME.")
    if not path.parent.is_dir():
        raise UsageError(
            f"{shown}: the folder {path.parent} does not exist.", hint=f"Create it, or pass another {option}."
        )
    return path
