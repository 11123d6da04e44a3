"""Fetch selected files with hf_hub_download: parallel, resumable, with one progress bar on stderr."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gator_setup.installers.remote import RemoteFile, hub_errors

#: Parallel file downloads; hf download uses 8 as well.
DEFAULT_WORKERS = 8


@dataclass(frozen=True)
class Target:
    """Where files go: the HF cache (cache_dir) or a plain folder (local_dir)."""

    cache_dir: str | None = None
    local_dir: str | None = None


class _Counter:
    """Thread-safe byte counter fed by hub's progress callbacks."""

    def __init__(self, on_bytes: Callable[[int], None] | None) -> None:
        self.lock = threading.Lock()
        self.total = 0
        self.on_bytes = on_bytes

    def add(self, n: int) -> None:
        with self.lock:
            self.total += n
        if self.on_bytes:
            self.on_bytes(n)


def _tqdm_class(counter: _Counter) -> Any:
    """A silent tqdm subclass: hub reports progress through it, we forward the bytes to rich."""
    from tqdm.auto import tqdm

    class _Silent(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            # hub sets `initial` to the bytes already on disk when it resumes; they were not transferred.

        def update(self, n: float | None = 1) -> bool | None:
            if n:
                counter.add(int(n))
            return None

    return _Silent


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
    on_file: Callable[[RemoteFile, Path], None] | None = None,
) -> dict[str, Path]:
    """Download `files` at `commit`; returns path -> local file. Partial files are kept for resume.

    `on_file` runs (in the worker) after each file lands, e.g. to verify its hash, so a bad file
    fails the install early.
    """
    from huggingface_hub import hf_hub_download

    total = sum(f.size for f in files)
    bar = _Progress(total, enabled=progress and bool(files))
    counter = _Counter(bar.advance)
    tqdm_cls = _tqdm_class(counter)
    results: dict[str, Path] = {}

    def one(f: RemoteFile) -> None:
        with hub_errors(repo, commit, endpoint):
            local = hf_hub_download(
                repo,
                f.path,
                revision=commit,
                endpoint=endpoint,
                token=token or False,
                cache_dir=target.cache_dir,
                local_dir=target.local_dir,
                tqdm_class=tqdm_cls,
            )
        path = Path(str(local))
        if on_file is not None:
            on_file(f, path)
        results[f.path] = path
        bar.file_done()

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
    """One rich progress bar (bytes + files) on stderr; silent when disabled or not a terminal."""

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

    def file_done(self) -> None:
        """Nothing per file yet: the byte bar already moves; kept as the hook for a files column."""
