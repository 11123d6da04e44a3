"""Use records of blobs: the mirror notes when it served each blob, so eviction does not trust atime.

Access times are reset by any reader (a backup with `cp -a`, a virus scan, `sha256sum` on the store)
and are not updated on `noatime` mounts, so the least-recently-used rule would evict the wrong
blobs. Instead every worker that serves a blob sets the modification time of an empty marker file
`usage/ab/<sha256>` (at most once per blob per `THROTTLE_S` in each process). A marker is created or
its mtime set in one system call, needs no lock between workers or hosts, and keeps its value
through `cp -a` and rsync. A blob that was never served counts as used when it was stored (its own
mtime: blobs are written once and never modified).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

THROTTLE_S = 30.0


def marker(root: Path, sha256: str) -> Path:
    return root / "usage" / sha256[:2] / sha256


class UsageLog:
    """Records uses of blobs under one storage root (one instance per process)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._last: dict[str, float] = {}

    def record(self, sha256: str) -> None:
        """Note that the blob was served now."""
        now = time.time()
        if now - self._last.get(sha256, 0.0) < THROTTLE_S:
            return
        if len(self._last) > 100_000:
            self._last.clear()
        self._last[sha256] = now
        path = marker(self.root, sha256)
        try:
            os.utime(path, (now, now))
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
        except OSError:
            pass


def last_used(root: Path, sha256: str, stored_mtime: float) -> float:
    """When the blob was last served by any worker, or stored if it never was."""
    try:
        return max(os.stat(marker(root, sha256)).st_mtime, stored_mtime)
    except OSError:
        return stored_mtime


def forget(root: Path, sha256: str) -> None:
    """Drop the record of an evicted blob."""
    with contextlib.suppress(OSError):
        os.unlink(marker(root, sha256))
