"""Single-flight of cold fetches across processes and hosts that share one store.

The first process to fetch a blob takes an exclusive `flock` on `tmp/flight/<key>.lock` and writes
the bytes to `tmp/flight/<key>.part`. Any other process that needs the blob meanwhile finds the lock
taken and follows: it reads the growing `.part` file, hashes what it reads, and lets its own clients
have each byte only once hashed, and the last byte only once its own hash matches the sha256 (LFS) or
git blob id the tree announced. If the fetching process dies, the kernel drops its lock; the next
follower to probe the lock takes it, re-hashes the partial file and resumes the download with a
`Range` request from where it stopped. Publication is unchanged: only the lock holder verifies and
renames the file into `blobs/`, so a partial or unverified blob is never published.

Locking primitive: `flock(2)`, chosen over lock files with leases because the kernel releases it
when its holder dies, so there is no stale lock to detect or break by guessing. What it relies on:
  * local file systems (ext4, xfs, btrfs, zfs, tmpfs): exact; N workers on one host.
  * NFS (v3 with the NLM lock manager, v4): Linux turns flock into a whole-file POSIX lock that the
    server arbitrates, so it works across hosts; a crashed host's lock is released when its lease
    expires (NFSv4: 90 s by default), after which a follower takes over. Mounts with `nolock` or
    `local_lock=flock`/`all` lock on the local host only: each host then fetches once.
  * CephFS (kernel client and ceph-fuse): flock is cluster-wide.
  * Lustre: cluster-wide only when mounted with `-o flock`; with `localflock` locks are per host,
    without either flock fails and gator falls back to per-process single-flight (a private temp
    file per fetch: duplicates possible, partial files still never published).
Followers see the leader's bytes through the shared file system: exact on one host; across NFS
hosts they may lag by the attribute cache (actimeo) and, should the client read a region before the
leader's write reaches the server, the follower's own hash catches it and its clients' connections
are cut rather than finished (they retry and get the published blob).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gator_setup.mirror import gitobj
from gator_setup.mirror.tmpfiles import lock_state

POLL_S = 0.02  # how often a follower looks at the leader's file (it grows between looks)
POLL_MAX_S = 0.25
HASH_CHUNK = 4 * 1024 * 1024
FEED_STEP = 64 * 1024 * 1024  # bytes a follower hashes before it lets its readers have them
_KEY_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


class FlightLock:
    """This process's claim on fetching one blob for the whole store."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    @property
    def part(self) -> Path:
        return self.path.with_suffix(".part")

    def fail(self, error: str) -> None:
        """Tell followers the fetch failed (they give up instead of retrying at once)."""
        with contextlib.suppress(OSError):
            self.path.with_suffix(".error").write_text(error[:500])

    def release(self) -> None:
        """Give the claim up (after publishing, failing, or stopping: a follower may then resume)."""
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            # Unlinked while still locked, so a process that opened the old file and locks it next
            # sees that it is no longer the file at that path and tries again (see claim()).
            if os.stat(self.path).st_ino == os.fstat(self.fd).st_ino:
                os.unlink(self.path)
        os.close(self.fd)
        self.fd = -1


class Unsupported:
    """The store's file system cannot lock: single-flight stays per process."""


UNSUPPORTED = Unsupported()


def flight_dir(root: Path) -> Path:
    return root / "tmp" / "flight"


def claim(root: Path, key: str) -> FlightLock | Unsupported | None:
    """Claim the fetch of blob `key` (a sha256 or git blob id): the lock, None when another process
    holds it, UNSUPPORTED when ids or the file system do not allow a shared claim."""
    if not _KEY_RE.match(key):
        return UNSUPPORTED
    path = flight_dir(root) / f"{key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        state = lock_state(fd)
        if state == "unsupported":
            os.close(fd)
            return UNSUPPORTED
        if state == "busy":
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # released (unlinked) between our open and our lock: lock the new file
            os.close(fd)
            continue
        owner = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(owner).encode(), 0)  # for people looking at the store
        return FlightLock(fd, path)
    return None


def recent_error(root: Path, key: str, since: float) -> str | None:
    """The failure a leader reported after `since`, if any."""
    path = flight_dir(root) / f"{key}.error"
    try:
        if os.stat(path).st_mtime >= since - 1:
            return path.read_text()[:500] or "fetch failed"
    except OSError:
        pass
    return None


class Verifier:
    """Hashes of the bytes a follower relays, checked against the tree entry at the end."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.size = int(entry["size"])
        self.lfs = bool(entry.get("lfs"))
        self.sha256 = hashlib.sha256()
        self.sha1 = None if self.lfs else hashlib.sha1(gitobj.blob_header(self.size))
        self.expected = str(entry.get("sha256") if self.lfs else entry["oid"])
        self.hashed = 0
        self._buf = memoryview(bytearray(HASH_CHUNK))

    def feed(self, fd: int, end: int) -> None:
        """Hash the file's bytes from `hashed` to `end` (a worker thread: hashlib frees the GIL)."""
        end = min(end, self.size)
        while self.hashed < end:
            n = os.preadv(fd, [self._buf[: min(HASH_CHUNK, end - self.hashed)]], self.hashed)
            if n <= 0:
                raise OSError("the shared fetch file shrank")
            chunk = self._buf[:n]
            self.sha256.update(chunk)
            if self.sha1 is not None:
                self.sha1.update(chunk)
            self.hashed += n

    def ok(self) -> bool:
        got = self.sha256.hexdigest() if self.sha1 is None else self.sha1.hexdigest()
        return self.hashed == self.size and got == self.expected

    def digest(self) -> str:
        return self.sha256.hexdigest()


def _reopen(fd: int, part: Path, blob: Path | None) -> int:
    """A descriptor on the file that holds the blob's bytes now: the shared temp file, or the blob once
    published. Switches when that is another file than `fd`'s (a new leader's temp file after a failed
    fetch); the bytes are the same blob's, so hashing goes on where it was."""
    for target in (part, blob):
        if target is None:
            continue
        try:
            st = os.stat(target)
            if fd >= 0 and (st.st_ino, st.st_dev) == (os.fstat(fd).st_ino, os.fstat(fd).st_dev):
                return fd
            new = os.open(target, os.O_RDONLY)
        except FileNotFoundError:
            continue
        if fd >= 0:
            os.close(fd)
        return new
    return fd


async def follow(
    root: Path,
    key: str,
    entry: dict[str, Any],
    fetch: Any,
    published: Callable[[dict[str, Any]], Path | None],
    take_over: Callable[[FlightLock], Awaitable[None]],
) -> None:
    """Relay another process's fetch of `key` to this process's readers of `fetch`, or take it over.

    `fetch` is pullthrough.Fetch: `written` (bytes readers may have), `complete`, `error`,
    `final_path`, `notify()`. `published(entry)` is the path of the entry's blob once it is in blobs/.
    """
    loop = asyncio.get_running_loop()
    started = time.time()
    part = flight_dir(root) / f"{key}.part"
    verifier = Verifier(entry)
    fd = -1
    delay = POLL_S
    try:
        while True:
            fd = _reopen(fd, part, published(entry))
            if fd >= 0:
                end = os.fstat(fd).st_size
                if end > verifier.hashed:
                    # In steps, so readers get bytes while a large file that is already there is hashed.
                    await loop.run_in_executor(None, verifier.feed, fd, min(end, verifier.hashed + FEED_STEP))
                    # Readers get only hashed bytes and never the last one before the check below.
                    fetch.written = min(verifier.hashed, max(verifier.size - 1, 0))
                    fetch.notify()
                    delay = POLL_S
                    if end > verifier.hashed:
                        continue  # more is there already: no pause
                if verifier.hashed >= verifier.size:
                    if not verifier.ok():
                        raise RuntimeError(
                            f"the bytes another process fetched do not match {verifier.expected}"
                        )
                    final = published({"sha256": verifier.digest()})
                    if final is not None:
                        # Readers that open the file from now on find it in blobs/.
                        fetch.final_path = final
                        fetch.written = verifier.size
                        fetch.complete = True
                        return
                    # Verified here but not renamed yet: wait for the leader's rename (or take over).
            lock = claim(root, key)
            if isinstance(lock, FlightLock):
                if published(entry) is not None:
                    lock.release()  # published meanwhile: relay (and hash) the blob itself
                    await asyncio.sleep(0)
                    continue
                error = recent_error(root, key, started)
                if error is not None:
                    lock.release()
                    raise RuntimeError(f"the fetching process failed: {error}")
                if fd >= 0:
                    os.close(fd)
                    fd = -1
                await take_over(lock)  # the leader died or stopped: resume from its partial file
                return
            if isinstance(lock, Unsupported):
                raise RuntimeError("the store's file system cannot lock")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, POLL_MAX_S)
    finally:
        if fd >= 0:
            os.close(fd)
