"""Mirror operations behind the CLI: import a folder, list repos, prune by size (least recently served)."""

from __future__ import annotations

import fnmatch
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gator_setup.errors import InputError, UsageError
from gator_setup.mirror import uploads
from gator_setup.mirror.ids import REPO_TYPES, HubError, parse_repo_id
from gator_setup.mirror.store import Store, import_folder, read_json
from gator_setup.mirror.tmpfiles import Cleaned, clean_tmp
from gator_setup.mirror.usage import forget, last_used

# Resumable partial downloads younger than this survive a prune (a pin may be about to resume).
PRUNE_RESUMABLE_KEEP_S = 600.0

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.I)


def import_dir(
    storage: Path,
    folder: Path,
    repo: str,
    *,
    repo_type: str = "model",
    branch: str = "main",
    private: bool = False,
    message: str | None = None,
) -> tuple[str, int]:
    """Publish `folder` as one commit of `repo` in the store at `storage`."""
    if repo_type not in REPO_TYPES:
        raise UsageError(f"Unknown repo type {repo_type!r}. Use one of: {', '.join(REPO_TYPES)}.")
    try:
        ref = parse_repo_id(repo, repo_type)
    except HubError as exc:
        raise UsageError(exc.message) from None
    if not Path(folder).is_dir():
        raise InputError(folder, "not a folder")
    return import_folder(Store(storage), Path(folder), ref, branch=branch, private=private, message=message)


def list_repos(storage: Path) -> list[dict[str, Any]]:
    """One row per repo: id, type, branches, commits, stored bytes, private, upstream copy or not."""
    if not Path(storage).is_dir():
        raise InputError(storage, "no such storage folder")
    store = Store(storage)
    rows = []
    for ref in store.list_repos():
        meta = store.repo_meta(ref) or {}
        commits, size = store.repo_size(ref)
        branches = store.refs(ref)["branches"] or {
            k: v["sha"] for k, v in store.upstream_refs(ref).items() if not re.fullmatch(r"[0-9a-f]{40}", k)
        }
        rows.append(
            {
                "id": ref.id,
                "type": ref.type,
                "private": bool(meta.get("private")),
                "upstream": bool(meta.get("upstream")),
                "branches": branches,
                "commits": commits,
                "bytes": size,
            }
        )
    return rows


def parse_size(text: str) -> int:
    """'50G', '1.5GiB', '800M', '1000' -> bytes (binary units)."""
    m = _SIZE_RE.match(text)
    if not m:
        raise UsageError(f"Invalid size {text!r}; use e.g. 500M, 50G or 2T.")
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * mult)


def _kept_blobs(store: Store) -> tuple[set[str], set[str]]:
    """(blobs of repos published here or uploaded to them, blobs of pinned commits of upstream copies)."""
    published: set[str] = set()
    pinned: set[str] = set()
    for ref in store.list_repos():
        if not (store.repo_meta(ref) or {}).get("upstream"):
            published |= uploads.pending(store, ref)  # uploaded, their commit may still come
            for c in (store.repo_dir(ref) / "commits").glob("*.json"):
                for e in (read_json(c) or {}).get("files", {}).values():
                    if e.get("sha256"):
                        published.add(e["sha256"])
            continue
        for sha, pin in store.pins(ref).items():
            include = list(pin.get("include") or [])
            for path, e in (store.get_commit(ref, sha) or {}).get("files", {}).items():
                if include and not any(fnmatch.fnmatch(path, pat) for pat in include):
                    continue
                blob = store.blob_of(e)
                if blob:
                    pinned.add(blob)
    return published, pinned


@dataclass
class Kept:
    """Blobs prune did not evict for one reason."""

    blobs: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.blobs += 1
        self.bytes += size


@dataclass
class PruneResult:
    """What `prune_store` did, what it could not evict and why."""

    max_bytes: int
    removed: int = 0
    freed: int = 0
    total: int = 0  # blob bytes before
    published: Kept = field(default_factory=Kept)  # local repos: never evicted
    pinned: Kept = field(default_factory=Kept)  # `gator mirror pin`: only with include_pinned
    recent: Kept = field(default_factory=Kept)  # served or stored in the last min_idle_s
    busy: Kept = field(default_factory=Kept)  # could not be removed (permissions, I/O error)
    temp: Cleaned = field(default_factory=Cleaned)  # abandoned partial files removed from tmp/

    @property
    def kept(self) -> int:
        return self.total - self.freed

    @property
    def over(self) -> bool:
        """The store still holds more than the limit."""
        return self.kept > self.max_bytes


def prune_store(
    storage: Path,
    max_bytes: int,
    *,
    dry_run: bool = False,
    min_idle_s: float = 60.0,
    include_pinned: bool = False,
) -> PruneResult:
    """Evict least-recently-used cached blobs until the store holds at most `max_bytes` of blobs.

    Last use is what the mirror recorded when it served a blob (usage.py), or when the blob was stored.
    Blobs of repos published here (and files uploaded to them, awaiting their commit, within the
    upload grant time) are never evicted, pinned ones only with `include_pinned`, and those used
    in the last `min_idle_s` seconds are kept (an open file also stays readable on POSIX
    after unlink, so a transfer in progress completes). Temp files of killed transfers are removed.
    """
    if not Path(storage).is_dir():
        raise InputError(storage, "no such storage folder")
    store = Store(storage)
    result = PruneResult(max_bytes)
    if not dry_run:
        result.temp = clean_tmp(store.root, keep_resumable_s=PRUNE_RESUMABLE_KEEP_S)
    published, pinned = _kept_blobs(store)
    blobs = []
    for p in (store.root / "blobs").glob("*/*"):
        try:
            st = p.stat()
        except OSError:
            continue
        result.total += st.st_size
        blobs.append((last_used(store.root, p.name, st.st_mtime), st.st_size, p))
    blobs.sort()
    now = time.time()
    for used, size, p in blobs:
        if result.kept <= max_bytes:
            break
        if p.name in published:
            result.published.add(size)
        elif p.name in pinned and not include_pinned:
            result.pinned.add(size)
        elif now - used < min_idle_s:
            result.recent.add(size)
        elif dry_run:
            result.removed += 1
            result.freed += size
        else:
            try:
                os.unlink(p)
            except OSError:
                result.busy.add(size)
                continue
            forget(store.root, p.name)
            result.removed += 1
            result.freed += size
    return result
