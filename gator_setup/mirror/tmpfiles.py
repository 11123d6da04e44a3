"""Temp files of the store: who is still writing one, and removal of those left by killed transfers.

Every writer of a temp file under `tmp/` holds an exclusive `flock` on it for as long as it writes
(`hold`), so a file whose lock can be taken belongs to nobody: its writer finished, failed or was
killed (the kernel drops the lock of a dead process; on NFS the server does, once the client's lease
expires). Resumable partial downloads (`resume-*.part` of `gator mirror pin`, and the shared fetches
under `tmp/flight/`) are kept for a day so a later run continues them; other orphans go at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

RESUMABLE_KEEP_S = 24 * 3600
# File systems that cannot lock (Lustre without -o flock, some FUSE mounts): locking is skipped there.
NO_LOCKS = (errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOLCK, errno.EINVAL)


class Busy(Exception):
    """Another process holds the lock."""


def lock_state(fd: int) -> str:
    """Take an exclusive flock on `fd` without waiting: "locked", "busy" (another holder) or
    "unsupported" (the file system cannot lock)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return "busy"
        if exc.errno in NO_LOCKS:
            return "unsupported"
        raise
    return "locked"


def try_lock(fd: int) -> bool:
    """True if this process now holds the lock on `fd`, or the file system has no locks."""
    return lock_state(fd) != "busy"


def hold(fd: int, name: str) -> None:
    """Lock a temp file this process is about to write; Busy if another process writes it."""
    if not try_lock(fd):
        raise Busy(f"{name} is being written by another process")


@dataclass
class Cleaned:
    """What a cleanup removed."""

    files: int = 0
    bytes: int = 0


def _abandoned(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        return try_lock(fd)
    finally:
        os.close(fd)  # closing drops the probe's lock


def clean_tmp(root: Path, *, keep_resumable_s: float = RESUMABLE_KEEP_S, now: float | None = None) -> Cleaned:
    """Remove temp files and folders under `root/tmp` that no live process is writing."""
    now = time.time() if now is None else now
    out = Cleaned()
    tmp = root / "tmp"
    if not tmp.is_dir():
        return out
    for sub in (tmp, tmp / "flight"):
        try:
            names = list(os.scandir(sub))
        except FileNotFoundError:
            continue
        for entry in names:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if entry.name.startswith("deleted-"):  # a deleted repo's trash (see Store.delete_repo)
                    shutil.rmtree(path, ignore_errors=True)
                    out.files += 1
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            resumable = entry.name.startswith("resume-") or sub.name == "flight"
            if entry.name.endswith(".lock"):
                if now - st.st_mtime < 60:  # a flight lock being taken right now (see flight.py)
                    continue
            elif resumable and now - st.st_mtime < keep_resumable_s:
                continue
            if not _abandoned(path):
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                out.files += 1
                out.bytes += st.st_size
    return out
