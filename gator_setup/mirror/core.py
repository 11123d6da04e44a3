"""Mirror operations behind the CLI: import a folder, list repos, prune by size (LRU)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from gator_setup.errors import InputError, UsageError
from gator_setup.mirror.ids import REPO_TYPES, HubError, parse_repo_id
from gator_setup.mirror.store import Store, import_folder, read_json

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


def _local_blobs(store: Store) -> set[str]:
    """Blobs referenced by repos published here (not upstream copies): never evicted."""
    keep: set[str] = set()
    for ref in store.list_repos():
        if (store.repo_meta(ref) or {}).get("upstream"):
            continue
        for c in (store.repo_dir(ref) / "commits").glob("*.json"):
            for e in (read_json(c) or {}).get("files", {}).values():
                if e.get("sha256"):
                    keep.add(e["sha256"])
    return keep


def prune_store(
    storage: Path, max_bytes: int, *, dry_run: bool = False, min_idle_s: float = 60.0
) -> tuple[int, int, int]:
    """Evict least-recently-used upstream blobs until the total is <= max_bytes.

    Blobs of local repos are kept; blobs used in the last `min_idle_s` seconds are kept too (a running
    server refreshes the access time when it starts serving one, and an open file stays readable on
    POSIX even if unlinked, so a transfer in progress always completes).
    Returns (removed, bytes freed, bytes kept).
    """
    store = Store(storage)
    keep = _local_blobs(store)
    blobs = []
    total = 0
    for p in (store.root / "blobs").glob("*/*"):
        try:
            st = p.stat()
        except OSError:
            continue
        total += st.st_size
        blobs.append((max(st.st_atime, st.st_mtime), st.st_size, p))
    blobs.sort()
    now = time.time()
    removed = freed = 0
    for used, size, p in blobs:
        if total - freed <= max_bytes:
            break
        if p.name in keep or now - used < min_idle_s:
            continue
        if not dry_run:
            try:
                os.unlink(p)
            except OSError:
                continue
        removed += 1
        freed += size
    return removed, freed, total - freed
