"""Fetch selected files: parallel, resumable across runs, hashed while streaming, HF-cache layout.

Why not plain `hf_hub_download`: since huggingface_hub 1.x (PR #4228, "process-unique temporary
file") an interrupted download's partial file is deleted (or, after a hard kill, orphaned under a
random name), so a second run starts every file from zero. gator keeps one stable
`<blob>.incomplete` per file and resumes it with an HTTP Range request, under the same per-blob
lock files huggingface_hub uses, then lays files out exactly as the hub cache does (blobs/<etag>,
snapshots/<commit>/<path> -> ../../blobs/<etag>, refs/<branch>), so `from_pretrained("org/name")`
finds them offline.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import threading
import time
import urllib.error
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gator_setup.errors import NetworkError
from gator_setup.installers import net
from gator_setup.installers.errors import AccessError, InstallError
from gator_setup.installers.net import NetSettings
from gator_setup.installers.remote import RemoteFile

#: Parallel file downloads (hf download uses 8 as well).
DEFAULT_WORKERS = 8
_CHUNK = 1024 * 1024
_RETRIES = 5


@dataclass(frozen=True)
class Target:
    """Where files go: the HF cache (cache_dir) or a plain folder (local_dir)."""

    cache_dir: str | None = None
    local_dir: str | None = None


def storage_dir(cache_dir: Path, repo: str) -> Path:
    """The hub cache folder of a model repo."""
    return cache_dir / f"models--{repo.replace('/', '--')}"


def etag_of(f: RemoteFile) -> str:
    """The name hub gives the blob: sha256 for LFS files, the git blob id otherwise."""
    return f.sha256 or f.git_oid or hashlib.sha256(f.path.encode()).hexdigest()


@dataclass(frozen=True)
class FilePlace:
    """Final path, partial path and lock path of one file at a target."""

    final: Path
    partial: Path
    lock: Path
    link: Path | None  # snapshot pointer (cache mode)


def place(target: Target, repo: str, commit: str, f: RemoteFile) -> FilePlace:
    """Where `f` lives at `target` (cache layout or local folder)."""
    if target.cache_dir:
        store = storage_dir(Path(target.cache_dir), repo)
        etag = etag_of(f)
        blob = store / "blobs" / etag
        lock = Path(target.cache_dir) / ".locks" / store.name / f"{etag}.lock"
        return FilePlace(
            blob, blob.with_name(etag + ".incomplete"), lock, store / "snapshots" / commit / f.path
        )
    root = Path(target.local_dir or ".")
    meta = root / ".cache" / "gator"
    return FilePlace(root / f.path, meta / (f.path + ".incomplete"), meta / (f.path + ".lock"), None)


def _hasher(f: RemoteFile) -> Any:
    if f.sha256:
        return hashlib.sha256()
    h = hashlib.sha1(usedforsecurity=False)
    h.update(f"blob {f.size}\0".encode())
    return h


def _hash_into(h: Any, path: Path) -> None:
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)


def _link(link: Path, blob: Path) -> None:
    """snapshots/<commit>/<path> -> relative symlink to the blob (a copy where symlinks fail)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    try:
        link.symlink_to(os.path.relpath(blob, link.parent))
    except OSError:
        import shutil

        shutil.copyfile(blob, link)


def _open(url: str, headers: dict[str, str], token: str | None, start: int, settings: NetSettings) -> Any:
    # (net.request: the token is never forwarded to a CDN the Hub redirects to.)
    req = net.request(url, token=token, headers=headers)
    if start:
        req.add_header("Range", f"bytes={start}-")
    return net.opener(settings).open(req, timeout=settings.connect_timeout)


def fetch_file(
    url: str,
    f: RemoteFile,
    fp: FilePlace,
    *,
    token: str | None,
    hash_it: bool,
    on_bytes: Callable[[int], None],
    settings: NetSettings | None = None,
) -> str | None:
    """Download one file to fp.final, resuming fp.partial; return its hex digest when hash_it.

    Network trouble is retried (resuming with a Range request) up to _RETRIES times, but a server
    that sends nothing at all for `settings.deadline` seconds across tries is given up on.
    """
    settings = settings or NetSettings.from_env()
    fp.partial.parent.mkdir(parents=True, exist_ok=True)
    headers = {"Accept-Encoding": "identity"}
    attempt = 0
    progress_at = time.monotonic()
    last_size = -1
    while True:
        start = fp.partial.stat().st_size if fp.partial.exists() else 0
        if start != last_size:
            progress_at, last_size = time.monotonic(), start
        if start > f.size:
            fp.partial.unlink()
            start = 0
        h = _hasher(f) if hash_it else None
        try:
            if start == f.size and f.size > 0:
                pass  # a previous run got every byte but stopped before the rename
            else:
                with _open(url, headers, token, start, settings) as resp:
                    if start and resp.status == 200:
                        start = 0  # the server ignored Range: start over rather than append
                    mode = "ab" if start else "wb"
                    if h is not None and start:
                        _hash_into(h, fp.partial)
                    with open(fp.partial, mode) as out:
                        # read1: return what has arrived (a stalled server must not hide received bytes).
                        while chunk := resp.read1(_CHUNK):
                            out.write(chunk)
                            if h is not None:
                                h.update(chunk)
                            on_bytes(len(chunk))
            if h is not None and start == f.size and f.size > 0:
                _hash_into(h, fp.partial)
            break
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise AccessError(
                    f"{f.path}: access denied (HTTP {exc.code}); set HF_TOKEN or run `hf auth login`."
                ) from None
            if exc.code == 404:
                raise AccessError(f"{f.path}: not found on the server (HTTP 404).") from None
            if exc.code < 500 or attempt >= _RETRIES:
                raise InstallError(f"{f.path}: HTTP {exc.code} from the server.") from None
        except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as exc:
            size = fp.partial.stat().st_size if fp.partial.exists() else 0
            if size != last_size:
                progress_at, last_size = time.monotonic(), size
            stalled = time.monotonic() - progress_at + settings.read_timeout > settings.deadline
            if attempt >= _RETRIES or stalled:
                raise NetworkError(
                    f"Cannot download {f.path} from {net.endpoint_of(url)}: {net.describe(exc, settings)} "
                    f"(after {attempt + 1} attempts).",
                    hint=f"Run the same command again: it resumes where it stopped ({net.READ_ENV} sets "
                    "the read timeout in seconds).",
                ) from None
        attempt += 1
        time.sleep(min(8.0, 0.5 * 2**attempt))
    got = fp.partial.stat().st_size
    if got != f.size:
        raise InstallError(
            f"{f.path}: got {got} bytes, expected {f.size}.", hint="Run the same command again to resume."
        )
    os.replace(fp.partial, fp.final)
    return h.hexdigest() if h is not None else None


class _Counter:
    """Thread-safe byte counter (bytes actually transferred this run)."""

    def __init__(self, on_bytes: Callable[[int], None]) -> None:
        self.lock = threading.Lock()
        self.total = 0
        self.on_bytes = on_bytes

    def add(self, n: int) -> None:
        with self.lock:
            self.total += n
        self.on_bytes(n)


@dataclass
class Downloaded:
    """One file at its final place; `digest` is set when it was hashed (fresh download or re-check)."""

    path: Path
    digest: str | None
    transferred: bool


def download_files(
    repo: str,
    commit: str,
    files: Sequence[RemoteFile],
    *,
    endpoint: str,
    token: str | None,
    target: Target,
    workers: int = DEFAULT_WORKERS,
    progress: bool = True,
    hash_files: bool = True,
    on_file: Callable[[RemoteFile, Downloaded], None] | None = None,
    settings: NetSettings | None = None,
) -> dict[str, Downloaded]:
    """Download `files` at `commit`; returns path -> Downloaded. Partial files are kept for resume.

    `on_file` runs in the worker after each file is in place (e.g. to compare its hash), so a bad
    file fails the install early.
    """
    from filelock import FileLock

    settings = settings or NetSettings.from_env()
    bar = _Progress(sum(f.size for f in files), enabled=progress and bool(files))
    counter = _Counter(bar.advance)
    results: dict[str, Downloaded] = {}

    def one(f: RemoteFile) -> None:
        fp = place(target, repo, commit, f)
        fp.lock.parent.mkdir(parents=True, exist_ok=True)
        fp.final.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(fp.lock)):
            if fp.final.is_file() and fp.final.stat().st_size == f.size:
                digest = None
                if hash_files:
                    h = _hasher(f)
                    _hash_into(h, fp.final)
                    digest = h.hexdigest()
                item = Downloaded(fp.final, digest, False)
                bar.advance(f.size)
            else:
                url = f"{endpoint}/{repo}/resolve/{commit}/{quote(f.path)}"
                digest = fetch_file(
                    url, f, fp, token=token, hash_it=hash_files, on_bytes=counter.add, settings=settings
                )
                item = Downloaded(fp.final, digest, True)
            if on_file is not None:
                on_file(f, item)
            if fp.link is not None:
                _link(fp.link, fp.final)
                item = Downloaded(fp.link, item.digest, item.transferred)
        results[f.path] = item

    # Biggest first so the long transfers overlap instead of trailing at the end.
    ordered = sorted(files, key=lambda f: -f.size)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="gator-dl")
    try:
        with bar:
            futures = [pool.submit(one, f) for f in ordered]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for fut in done:
                exc = fut.exception()
                if exc is not None:
                    raise exc
    finally:
        # On an error or Ctrl-C, queued files are dropped; running ones keep their .incomplete part,
        # which the next run resumes with a Range request.
        pool.shutdown(wait=False, cancel_futures=True)
    return results


class _Progress:
    """One rich progress bar (bytes) on stderr; silent when disabled or stderr is not a terminal."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.total = total
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("downloading", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def advance(self, n: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)
