"""Pull-through cache: resolve revisions and fetch files from the upstream on first use.

Metadata: a branch is re-resolved upstream after `branch_ttl`; commits are immutable and stored once
(their whole tree, so a cold HEAD is answered from it without touching the file). If the upstream is
down, the last known commit is served with an `X-Gator-Stale` header.

Files: one upstream fetch per blob however many clients ask (single-flight). The fetch writes into a
temp file that every client reads as it grows, so bytes flow before the blob is complete. LFS bodies
are pulled by a worker thread (transfer.py), the hashes run in another one behind the writes
(`BlobWriter.hash_through`), and the clients get the bytes by sendfile from the temp file: the event
loop only schedules, so it never becomes the bottleneck of a large download. The last
byte is held back until the sha256 (LFS) or git blob id (small files) and the size match; a mismatch
goes to quarantine and the connections are cut, so no client ever receives a complete wrong file and
the store never publishes one.

Access: private repos need the caller's own token, checked upstream and remembered per token hash
(re-checked after `branch_ttl`; offline, only tokens already accepted are); gated files likewise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp
from aiohttp import web

from gator_setup.mirror import flight
from gator_setup.mirror.auth import Caller
from gator_setup.mirror.config import MirrorConfig
from gator_setup.mirror.entries import Located
from gator_setup.mirror.http import blob_response
from gator_setup.mirror.ids import HubError, RepoRef, check_path, is_sha, is_sha256
from gator_setup.mirror.ranges import parse_range
from gator_setup.mirror.store import BlobMismatch, BlobWriter, Store, atomic_write_json, read_json
from gator_setup.mirror.transfer import ConnectionPool, UpstreamBody, open_body
from gator_setup.mirror.upstream import Upstream, UpstreamDown

log = logging.getLogger("gator.mirror.pull")
INFO_FIELDS = ("downloads", "likes", "tags", "lastModified", "library_name", "pipeline_tag", "cardData")
RETRIES = 2
TRANSFER_THREADS = 64  # concurrent cold LFS downloads (threads mostly wait on sockets)
SEND_MIN = 1024 * 1024  # bytes a follower waits for before its next sendfile (see _stream)


# Files a gated repo may show to anyone: a successful probe on them grants nothing.
UNGATED_PROBES = frozenset({"README.md", ".gitattributes"})


def _refused(ref: RepoRef, kind: str, caller: Caller, why: str) -> HubError:
    """The Hub's answer to a caller that may not read: 401 anonymous, 403 gated, 404 private."""
    if kind == "gated":
        if caller.name == "anonymous":
            return HubError(401, "GatedRepo", f"Access to {ref.id} is restricted. You must be authenticated.")
        return HubError(403, "GatedRepo", f"Access to {ref.id} is restricted ({why}).")
    msg = f"Repository Not Found for url: {ref.url_path}."
    return HubError(401 if caller.name == "anonymous" else 404, "RepoNotFound", msg)


class Fetch:
    """One upstream download in progress, readable while it grows."""

    def __init__(self, size: int, path: Path, writer: BlobWriter | None = None) -> None:
        self.writer = writer  # None while following another process's fetch (flight.py)
        self.path = path  # the growing temp file
        self.size = size
        self.written = 0
        self.complete = False
        self.error: str | None = None
        self.final_path: Path | None = None
        self._event = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        ev, self._event = self._event, asyncio.Event()
        ev.set()

    async def wait(self) -> None:
        await self._event.wait()

    def readable(self) -> int:
        # Hold back the last byte until the content is verified (see module docstring).
        if self.complete:
            return self.size
        return min(self.written, max(self.size - 1, 0))


class PullThrough:
    """The upstream side of a mirror started with --upstream."""

    def __init__(self, config: MirrorConfig, store: Store) -> None:
        cfg = config
        assert cfg.upstream
        self.config = config
        self.store = store
        self.up = Upstream(cfg.upstream, token=cfg.upstream_token, timeout=cfg.upstream_timeout)
        self.fetches: dict[str, Fetch] = {}
        self.file_fetches = 0  # upstream file downloads started (single-flight metric)
        self._bodies: set[UpstreamBody] = set()  # bulk transfers in worker threads (closed on shutdown)
        self._pool = ConnectionPool()  # keep-alive connections of those transfers
        # Their own threads: a transfer holds one for a whole file, and the default executor (CPUs + 4
        # threads) would make the 7th concurrent cold file wait for a whole shard before its first byte.
        self._transfers = ThreadPoolExecutor(max_workers=TRANSFER_THREADS, thread_name_prefix="gator-pull")
        self._meta_flights: dict[tuple[str, str, str | None], asyncio.Task[tuple[str, dict[str, Any]]]] = {}
        self._denied: dict[tuple[str, str, str], tuple[float, HubError]] = {}  # recent refusals

    async def close(self) -> None:
        for body in list(self._bodies):
            body.close()
        tasks = [f.task for f in self.fetches.values() if f.task]
        for task in tasks:
            task.cancel()
        # Each fetch waits for its worker threads to let go of its files before it ends.
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pool.close()
        self._transfers.shutdown(wait=False)
        await self.up.close()

    # ---- metadata
    async def locate(self, caller: Caller, ref: RepoRef, rev: str, meta: dict[str, Any] | None) -> Located:
        """Resolve `rev` (stored commit, fresh branch, or upstream) and check the caller may see the repo."""
        cfg = self.config
        auth = caller.upstream_auth
        known = self.store.upstream_refs(ref).get(rev)
        extra: dict[str, str] = {}
        if meta is not None and is_sha(rev) and self.store.get_commit(ref, rev) is not None:
            sha = rev
        elif (
            known
            and (cfg.offline or time.time() - known["checked"] < cfg.branch_ttl)
            and self.store.get_commit(ref, known["sha"])
        ):
            sha = known["sha"]
        elif cfg.offline:
            if meta is None:
                raise HubError(404, "RepoNotFound", f"{ref.id} is not in this offline mirror.")
            raise HubError(404, "RevisionNotFound", f"{rev} of {ref.id} is not in this offline mirror.")
        else:
            try:
                sha, meta = await self._refresh_once(ref, rev, caller)
            except UpstreamDown as exc:
                if not (known and self.store.get_commit(ref, known["sha"])):
                    raise HubError(
                        502, "UpstreamUnavailable", f"Upstream unreachable and {rev} of {ref.id} not stored."
                    ) from None
                sha = known["sha"]
                extra["X-Gator-Stale"] = f"upstream unreachable; last known commit of {rev}"
                log.warning("upstream down (%s): serving %s@%s as last known %s", exc, ref.id, rev, sha)
        if cfg.offline:
            extra["X-Gator-Offline"] = "1"
        meta = self.store.repo_meta(ref)
        commit = self.store.get_commit(ref, sha)
        if meta is None or commit is None:
            raise HubError(404, "RepoNotFound", f"{ref.id} not found.")
        if meta.get("private"):
            await self._check_access(caller, ref, "private", lambda: self.up.revision(ref, sha, auth))
        return Located(meta, sha, commit, extra, local=False, caller=caller)

    async def authorize_file(self, ref: RepoRef, loc: Located, path: str) -> None:
        """Decide, before any byte (and whatever is stored), whether the caller may read a file.

        Gated repos: metadata is public as on the Hub, file content needs the caller's own upstream
        credential, accepted by the upstream (asked again once the verdict is `access_ttl` old).
        """
        if not loc.meta.get("gated"):
            return
        caller = loc.caller or Caller(None, None, "anonymous")
        await self._check_access(
            caller,
            ref,
            "gated",
            lambda: self.up.check_file(ref, loc.sha, path, caller.upstream_auth),
            # The Hub may show a gated repo's card to anyone: a probe on it proves nothing.
            remember=path not in UNGATED_PROBES,
        )

    async def _refresh_once(self, ref: RepoRef, rev: str, caller: Caller) -> tuple[str, dict[str, Any]]:
        key = (ref.url_path, rev, caller.key)
        task = self._meta_flights.get(key)
        if task is None:
            task = asyncio.ensure_future(self._refresh(ref, rev, caller))
            self._meta_flights[key] = task
            task.add_done_callback(lambda _t: self._meta_flights.pop(key, None))
        return await asyncio.shield(task)

    async def _refresh(self, ref: RepoRef, rev: str, caller: Caller) -> tuple[str, dict[str, Any]]:
        sha, meta = await refresh_commit(self.store, self.up, ref, rev, caller.upstream_auth)
        if meta.get("private") and caller.key:
            # The upstream showed this private repo to the caller's own credential.
            self._record(ref, "private", caller.key, time.time())
        return sha, meta

    def _record(self, ref: RepoRef, kind: str, key: str, when: float | None) -> None:
        """Remember (or, with `when=None`, forget) that the upstream granted `kind` access to `key`."""
        path = self.store.repo_dir(ref) / "access.json"
        with self.store.repo_lock(ref):
            data = read_json(path, {})
            grants = data.setdefault(kind, {})
            if when is None:
                if grants.pop(key, None) is None:
                    return
            else:
                grants[key] = when
            atomic_write_json(path, data)

    async def _check_access(
        self,
        caller: Caller,
        ref: RepoRef,
        kind: str,
        probe: Callable[[], Awaitable[Any]],
        *,
        remember: bool = True,
    ) -> None:
        """Allow only callers whose own credential the upstream accepted (recently, or ever offline)."""
        cfg = self.config
        if caller.key is None:
            raise _refused(ref, kind, caller, "an upstream credential of your own is needed")
        grants = read_json(self.store.repo_dir(ref) / "access.json", {}).get(kind, {})
        seen = grants.get(caller.key)
        now = time.time()
        if isinstance(seen, (int, float)) and (cfg.offline or now - seen < cfg.access_ttl):
            return
        if cfg.offline:
            raise _refused(ref, kind, caller, "never accepted upstream, and the mirror is offline")
        flight = (ref.url_path, kind, caller.key)
        denied = self._denied.get(flight)
        if denied is not None and now - denied[0] < cfg.access_ttl:
            raise denied[1]
        try:
            await probe()
        except UpstreamDown:
            if seen:
                return
            raise HubError(502, "UpstreamUnavailable", "Upstream unreachable; cannot check access.") from None
        except HubError as exc:
            if exc.status in (401, 403, 404):
                # A refusal also ends an earlier grant, offline use included.
                self._denied[flight] = (now, exc)
                self._record(ref, kind, caller.key, None)
            raise
        self._denied.pop(flight, None)
        if remember:
            self._record(ref, kind, caller.key, now)

    # ---- files
    async def serve_file(
        self,
        request: web.Request,
        ref: RepoRef,
        loc: Located,
        path: str,
        entry: dict[str, Any],
        headers: dict[str, str],
    ) -> web.StreamResponse:
        # The caller was authorised by `authorize_file` before anything was sent.
        auth = loc.caller.upstream_auth if loc.caller else None
        oid = str(entry["oid"])
        # Stored commits were checked when they came from the upstream; check again before a path.
        sha256 = entry.get("sha256") or (self.store.sha256_for_oid(oid) if is_sha(oid) else None)
        if sha256 and self.store.has_blob(sha256):
            self.store.touch_blob(sha256)
            return await blob_response(request, self.store.blob_path(sha256), int(entry["size"]), headers)
        if self.config.offline:
            raise HubError(504, "UpstreamUnavailable", f"{path} is not stored and the mirror is offline.")
        size = int(entry["size"])
        rng = request.headers.get("Range")
        start, count = parse_range(rng, size)
        if request.method == "HEAD":
            resp = web.StreamResponse(status=206 if rng is not None else 200, headers=headers)
            if rng is not None:
                resp.headers["Content-Range"] = f"bytes {start}-{start + count - 1}/{size}"
            resp.content_length = count
            resp.content_type = "application/octet-stream"
            await resp.prepare(request)
            return resp
        key = str(entry.get("sha256") or entry["oid"])
        fetch = self.fetches.get(key)
        if fetch is None:
            fetch = self._start(key, ref, loc.sha, path, entry, auth)
        return await self._stream(request, fetch, start, count, size, headers)

    def _start(
        self, key: str, ref: RepoRef, sha: str, path: str, entry: dict[str, Any], auth: str | None
    ) -> Fetch:
        size = int(entry["size"])
        lock = flight.claim(self.store.root, key)
        if lock is None:  # another process (worker, host) is fetching it: relay its file
            fetch = Fetch(size, flight.flight_dir(self.store.root) / f"{key}.part")
            self.fetches[key] = fetch
            fetch.task = asyncio.ensure_future(self._follow(key, fetch, ref, sha, path, entry, auth))
            return fetch
        if isinstance(lock, flight.FlightLock):
            fetch = Fetch(size, lock.part)  # the writer is opened by _run (it may resume a dead fetch)
        else:  # ids or file system without a shared claim: single-flight within this process only
            writer = self.store.new_blob(git_size=None if entry.get("lfs") else size)
            fetch, lock = Fetch(size, writer.path, writer), None
        self.fetches[key] = fetch
        self.file_fetches += 1
        fetch.task = asyncio.ensure_future(self._run(key, fetch, ref, sha, path, entry, auth, lock))
        return fetch

    def _stored(self, entry: dict[str, Any]) -> Path | None:
        sha256 = self.store.blob_of(entry)
        return self.store.blob_path(sha256) if sha256 and self.store.has_blob(sha256) else None

    async def _follow(
        self,
        key: str,
        fetch: Fetch,
        ref: RepoRef,
        sha: str,
        path: str,
        entry: dict[str, Any],
        auth: str | None,
    ) -> None:
        async def take_over(lock: flight.FlightLock) -> None:
            log.warning("taking over the fetch of %s/%s from a process that stopped", ref.id, path)
            self.file_fetches += 1
            await self._run(key, fetch, ref, sha, path, entry, auth, lock)

        try:
            await flight.follow(self.store.root, key, entry, fetch, self._stored, take_over)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            fetch.error = f"{type(exc).__name__}: {exc}"
            log.warning("relaying %s/%s from another process failed: %s", ref.id, path, exc)
        finally:
            self.fetches.pop(key, None)
            fetch.notify()

    async def _open_writer(self, fetch: Fetch, entry: dict[str, Any], lock: flight.FlightLock) -> BlobWriter:
        """The shared temp file, continued where a stopped or dead leader left it (re-hashed first)."""
        loop = asyncio.get_running_loop()
        git_size = None if entry.get("lfs") else fetch.size
        with contextlib.suppress(OSError):
            lock.path.with_suffix(".error").unlink()

        def open_it() -> BlobWriter:
            w = BlobWriter(self.store, git_size=git_size, resume_path=lock.part)
            if w.size > fetch.size:  # not a prefix of this blob: start over
                w.abort()
                w = BlobWriter(self.store, git_size=git_size, resume_path=lock.part)
            return w

        writer = await loop.run_in_executor(None, open_it)
        if writer.size:
            log.info("resuming the fetch of %s at %d of %d bytes", lock.part.name, writer.size, fetch.size)
        return writer

    async def _run(
        self,
        key: str,
        fetch: Fetch,
        ref: RepoRef,
        sha: str,
        path: str,
        entry: dict[str, Any],
        auth: str | None,
        lock: flight.FlightLock | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        if fetch.writer is None:
            assert lock is not None
            try:
                fetch.writer = await self._open_writer(fetch, entry, lock)
            except BaseException as exc:
                lock.release()
                fetch.error = f"{type(exc).__name__}: {exc}"
                self.fetches.pop(key, None)
                fetch.notify()
                if isinstance(exc, asyncio.CancelledError):
                    raise
                log.warning("fetch of %s/%s could not start: %s", ref.id, path, fetch.error)
                return
            fetch.path = fetch.writer.path
            fetch.written = fetch.writer.size
            fetch.notify()
        writer = fetch.writer
        hasher = _Hasher(writer)

        def grew() -> None:  # on the loop: more bytes are in the temp file
            fetch.written = writer.size
            fetch.notify()
            hasher.kick()

        pumps: list[asyncio.Future[None]] = []
        error: str | None = None
        try:
            attempt = 0
            while fetch.written < fetch.size or fetch.size == 0:
                try:
                    if entry.get("lfs") and fetch.size:
                        await self._pull_bulk(ref, sha, path, auth, fetch, grew, pumps)
                    else:
                        await self._pull_small(ref, sha, path, auth, fetch, grew)
                    if fetch.written < fetch.size:
                        raise UpstreamDown(f"upstream closed at {fetch.written}/{fetch.size} bytes")
                    break
                except (UpstreamDown, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    attempt += 1
                    if attempt > RETRIES:
                        raise
                    log.warning(
                        "fetch of %s/%s interrupted (%s); resuming at %d", ref.id, path, exc, fetch.written
                    )
                    await asyncio.sleep(0.2 * attempt)
            await hasher.finish()
            writer.verify(
                sha256=entry.get("sha256"),
                size=fetch.size,
                git_oid=None if entry.get("lfs") else str(entry["oid"]),
            )
            # Verified: readers may have the last byte now; fsync + rename happen after.
            fetch.complete = True
            fetch.notify()
            blob = await loop.run_in_executor(None, writer.publish)
            if not entry.get("lfs"):
                self.store.remember_oid(str(entry["oid"]), blob["sha256"])
            fetch.final_path = self.store.blob_path(blob["sha256"])
            log.info("cached %s/%s (%d bytes, sha256 %s)", ref.id, path, fetch.size, blob["sha256"])
        except BlobMismatch as exc:
            error = str(exc)
            log.error("QUARANTINED %s/%s from upstream: %s", ref.id, path, exc)
        except asyncio.CancelledError:
            error = "cancelled"
            raise
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("fetch of %s/%s failed: %s", ref.id, path, error)
        finally:
            if fetch.final_path is None:
                # Worker threads must be off the file before its descriptor is closed and reused.
                for pump in pumps:
                    await _until_done(pump)
                await hasher.stop()
                if lock is not None and error == "cancelled":
                    writer.detach()  # this process is stopping: another may resume the shared file
                else:
                    writer.abort()
                    if lock is not None:
                        lock.fail(error or "failed")
            if lock is not None:
                lock.release()
            # Readers learn of a failure only now, once the partial file is gone.
            if error is not None:
                fetch.error = error
                fetch.complete = False
            self.fetches.pop(key, None)
            fetch.notify()

    async def _pull_small(
        self, ref: RepoRef, sha: str, path: str, auth: str | None, fetch: Fetch, grew: Callable[[], None]
    ) -> None:
        """Regular (non-LFS) files: small by the Hub's rules, so the pooled keep-alive session wins."""
        writer = fetch.writer
        assert writer is not None
        resp = await self.up.open_file(ref, sha, path, auth, fetch.written)
        try:
            async for chunk in resp.content.iter_any():
                if fetch.written + len(chunk) > fetch.size:
                    raise BlobMismatch(f"upstream sent more than the {fetch.size} bytes announced")
                writer.append(chunk)
                grew()
        finally:
            resp.release()

    async def _pull_bulk(
        self,
        ref: RepoRef,
        sha: str,
        path: str,
        auth: str | None,
        fetch: Fetch,
        grew: Callable[[], None],
        pumps: list[asyncio.Future[None]],
    ) -> None:
        """LFS files: a worker thread pulls the body (see transfer.py); its future goes into `pumps`."""
        loop = asyncio.get_running_loop()
        writer = fetch.writer
        assert writer is not None
        self.up.requests += 1
        url = self.up.file_url(ref, sha, path)
        headers = self.up.file_headers(auth, fetch.written)
        opening = loop.run_in_executor(self._transfers, open_body, url, headers, self.up.timeout, self._pool)
        try:
            body = await asyncio.shield(opening)
        except asyncio.CancelledError:
            # The thread still finishes opening: close what it opens, or the connection leaks.
            opening.add_done_callback(_close_opened)
            raise
        self._bodies.add(body)
        try:
            pump = loop.run_in_executor(
                self._transfers,
                body.pump,
                writer,
                fetch.size - fetch.written,
                lambda: loop.call_soon_threadsafe(grew),
            )
            pumps.append(pump)
            # Shielded: on cancellation the future must still tell when the thread let go of the file.
            await asyncio.shield(pump)
        finally:
            body.close()  # wakes a pump still blocked on the socket
            self._bodies.discard(body)
            if pumps and pumps[-1].done():
                grew()  # a resumed fetch starts exactly where this one stopped

    async def _stream(
        self, request: web.Request, fetch: Fetch, start: int, count: int, size: int, headers: dict[str, str]
    ) -> web.StreamResponse:
        # Wait for the first byte (or the outcome) before promising a 200: an upstream that fails at once
        # then becomes a clean 502 the client can fall back on, not a cut connection.
        while fetch.written <= start and not fetch.complete and not fetch.error and fetch.size > 0:
            await fetch.wait()
        if fetch.error and fetch.written <= start:
            raise HubError(502, "UpstreamUnavailable", f"Fetching from upstream failed: {fetch.error}")
        status = 206 if request.headers.get("Range") is not None else 200
        resp = web.StreamResponse(status=status, headers=headers)
        resp.content_type = "application/octet-stream"
        resp.content_length = count
        if status == 206:
            resp.headers["Content-Range"] = f"bytes {start}-{start + count - 1}/{size}"
        await resp.prepare(request)
        loop = asyncio.get_running_loop()
        pos, end = start, start + count
        fobj: BinaryIO | None = None
        try:
            while pos < end:
                if fobj is None:
                    fobj = await _open_growing(fetch)
                if fobj is None:  # the fetch failed before this reader could open it
                    raise ConnectionAbortedError(fetch.error or "fetch failed")
                avail = min(fetch.readable(), end)
                # Send in pieces of at least SEND_MIN while the fetch runs: one sendfile per socket
                # read of the upstream would cost more in event-loop turns than it saves in latency.
                if avail > pos and (avail - pos >= SEND_MIN or avail == end or fetch.complete):
                    transport = request.transport
                    if transport is None or transport.is_closing():
                        raise ConnectionResetError("client went away")
                    # The kernel copies page cache -> socket (sendfile); Python never touches the bytes.
                    await loop.sendfile(transport, fobj, pos, avail - pos)
                    pos = avail
                elif fetch.error:
                    raise ConnectionAbortedError(fetch.error)
                else:
                    await fetch.wait()
            await resp.write_eof()
        except ConnectionAbortedError as exc:
            # Headers promised the full length: cutting the connection is the only honest signal left.
            log.warning("aborting response to %s: %s", request.remote, exc)
            if request.transport is not None:
                request.transport.close()
        finally:
            if fobj is not None:
                fobj.close()
        return resp


class _Hasher:
    """Keeps one `BlobWriter.hash_through` pass running in a worker thread, behind the appends."""

    def __init__(self, writer: BlobWriter) -> None:
        self.writer = writer
        self._future: asyncio.Future[None] | None = None

    def kick(self) -> None:
        if self._future is not None and not self._future.done():
            return  # the running pass picks up the new bytes on the next kick
        if self._future is not None:
            self._future.result()  # re-raise a failed pass (e.g. the disk went away)
        self._future = asyncio.get_running_loop().run_in_executor(
            None, self.writer.hash_through, self.writer.size
        )

    async def finish(self) -> None:
        """Hash everything received so far (the whole blob, at the end of a fetch)."""
        while self.writer.hashed < self.writer.size:
            self.kick()
            assert self._future is not None
            await self._future

    async def stop(self) -> None:
        if self._future is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._future)


def _close_opened(fut: asyncio.Future[UpstreamBody]) -> None:
    if not fut.cancelled() and fut.exception() is None:
        fut.result().close()


async def _until_done(fut: asyncio.Future[None]) -> None:
    """Wait for a worker thread's future to finish, whatever it raises and however often this task
    is cancelled meanwhile (the thread may still be using a file that the caller closes next)."""
    while not fut.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({fut})


async def refresh_commit(
    store: Store, up: Upstream, ref: RepoRef, rev: str, auth: str | None
) -> tuple[str, dict[str, Any]]:
    """Resolve `rev` upstream, store repo metadata and (once per commit) the whole tree."""
    info = await up.revision(ref, rev, auth)
    sha = str(info["sha"])
    if not is_sha(sha):
        raise UpstreamDown("upstream sha is not a commit id")
    store.create_repo(ref, upstream=True, exist_ok=True)
    meta = store.repo_meta(ref) or {}
    meta.update(
        private=bool(info.get("private")),
        gated=info.get("gated") or False,
        info={k: info[k] for k in INFO_FIELDS if k in info},
    )
    if ref.type == "space":
        meta["sdk"] = info.get("sdk")
    store.write_meta(ref, meta)
    if store.get_commit(ref, sha) is None:
        entries = await up.tree(ref, sha, auth)
        files: dict[str, Any] = {}
        for e in entries:
            if e.get("type") != "file" or not isinstance(e.get("path"), str):
                continue
            try:
                path = check_path(e["path"])
            except HubError:
                log.warning("skipping unsafe upstream path %r in %s", e["path"], ref.id)
                continue
            entry = _upstream_entry(e)
            if entry is None:
                # Ids from the upstream name files in the store: never trusted unchecked.
                log.warning("skipping upstream entry %r in %s: malformed ids or size", path, ref.id)
                continue
            files[path] = entry
        store.put_commit(
            ref,
            {"id": sha, "files": files, "parents": [], "time": info.get("lastModified"), "upstream": True},
        )
    if rev != sha:
        store.set_upstream_ref(ref, rev, sha)
    return sha, meta


def _upstream_entry(e: dict[str, Any]) -> dict[str, Any] | None:
    """A tree entry from the upstream as stored, or None when its ids or size are not well formed."""
    size, oid = e.get("size", 0), e.get("oid")
    lfs = e.get("lfs") if isinstance(e.get("lfs"), dict) else None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0 or not is_sha(oid):
        return None
    if lfs is not None and not (is_sha256(lfs.get("oid")) and lfs.get("size", size) == size):
        return None
    # xetHash and other transfer details are dropped: clients only ever see this mirror.
    return {"size": size, "oid": oid, "lfs": bool(lfs), "sha256": lfs["oid"] if lfs else None}


async def _open_growing(fetch: Fetch) -> BinaryIO | None:
    """The fetch's temp file, or the published blob if it was already renamed."""
    while True:
        with contextlib.suppress(FileNotFoundError):
            if fetch.final_path is not None:
                return open(fetch.final_path, "rb")
            return open(fetch.path, "rb")
        if fetch.error:
            return None
        await fetch.wait()
