"""`gator mirror pin`: prefetch a snapshot from the upstream into the store, verified, resumable."""

from __future__ import annotations

import asyncio
import fnmatch
import re
import sys
from pathlib import Path
from typing import Any

import aiohttp

from gator_setup.errors import GatorError, UsageError
from gator_setup.mirror.bundle import _ref_and_rev
from gator_setup.mirror.ids import HubError
from gator_setup.mirror.pullthrough import refresh_commit
from gator_setup.mirror.store import CHUNK, BlobMismatch, Store
from gator_setup.mirror.tmpfiles import Busy
from gator_setup.mirror.upstream import Upstream, UpstreamDown


async def _pin(
    storage: Path, spec: str, upstream: str, repo_type: str, include: list[str], token: str | None
) -> tuple[str, int, int]:
    store = Store(storage)
    ref, rev = _ref_and_rev(spec, repo_type)
    up = Upstream(upstream, token=token, timeout=60)
    auth = f"Bearer {token}" if token else None
    try:
        sha, _ = await refresh_commit(store, up, ref, rev, auth)
        commit = store.get_commit(ref, sha) or {"files": {}}
        todo = [
            (p, e)
            for p, e in sorted(commit["files"].items())
            if not include or any(fnmatch.fnmatch(p, pat) for pat in include)
        ]
        fetched = 0
        for i, (path, e) in enumerate(todo, 1):
            sha256 = e.get("sha256") or store.sha256_for_oid(e["oid"])
            if sha256 and store.has_blob(sha256):
                print(f"[{i}/{len(todo)}] {path}: stored", file=sys.stderr)
                continue
            fetched += await _fetch(store, up, ref, sha, path, e, auth, f"[{i}/{len(todo)}]")
        # Recorded once every file is stored: prune keeps pinned blobs unless told otherwise.
        store.record_pin(ref, sha, include)
        return sha, len(todo), fetched
    finally:
        await up.close()


async def _fetch(
    store: Store, up: Upstream, ref: Any, sha: str, path: str, e: dict[str, Any], auth: str | None, tag: str
) -> int:
    key = str(e.get("sha256") or e["oid"])
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", key):  # it names a temp file below
        raise GatorError(f"{path}: upstream gave an invalid blob id {key[:80]!r}.")
    try:
        w = store.new_blob(resume_name=key)  # an interrupted earlier run continues where it stopped
    except Busy:
        raise GatorError(f"{path}: another `gator mirror pin` is fetching it; wait for it.") from None
    size = int(e["size"])
    if w.size > size:
        w.abort()
        w = store.new_blob(resume_name=key)
    start = w.size
    step = max(size // 10, 1)
    mark = start + step
    try:
        if w.size < size:
            resp = await up.open_file(ref, sha, path, auth, w.size)
            try:
                async for chunk in resp.content.iter_chunked(CHUNK):
                    w.write(chunk)
                    if w.size >= mark:
                        print(f"{tag} {path}: {w.size * 100 // max(size, 1)}%", file=sys.stderr)
                        mark += step
            finally:
                resp.release()
        blob = w.finish(sha256=e.get("sha256"), size=size, git_oid=None if e.get("lfs") else e["oid"])
    except BlobMismatch as exc:
        raise GatorError(f"{path}: upstream bytes do not match ({exc}).") from None
    except (UpstreamDown, OSError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
        w.detach()  # keep the partial file for the next run, and let go of its lock
        raise GatorError(
            f"{path}: download interrupted ({exc}); run the same command again to resume."
        ) from None
    if not e.get("lfs"):
        store.remember_oid(e["oid"], blob["sha256"])
    print(
        f"{tag} {path}: {size} bytes verified" + (f" (resumed at {start})" if start else ""), file=sys.stderr
    )
    return size - start


def pin(
    storage: Path,
    spec: str,
    upstream: str | None,
    *,
    repo_type: str = "model",
    include: list[str] | None = None,
    token: str | None = None,
) -> tuple[str, int, int]:
    """Prefetch `ORG/NAME[@REV]` (files matching `include`) into the store. Returns (commit, files, bytes)."""
    if not upstream:
        raise UsageError("pin needs --upstream URL (the hub or mirror to fetch from).")
    try:
        return asyncio.run(_pin(Path(storage), spec, upstream.rstrip("/"), repo_type, include or [], token))
    except HubError as exc:
        raise GatorError(f"{spec}: upstream refused: {exc.message}") from None
    except UpstreamDown as exc:
        raise GatorError(f"{spec}: upstream unreachable ({exc}).") from None
