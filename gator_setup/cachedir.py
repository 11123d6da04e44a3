"""Where gator keeps its caches ($GATOR_CACHE_DIR, else the platform user cache dir), and how it
writes them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def cache_root() -> Path:
    """The gator cache dir: $GATOR_CACHE_DIR, else the platform user cache dir."""
    env = os.environ.get("GATOR_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("gator", appauthor=False))


def write_cache_json(path: Path, data: Any) -> None:
    """Best effort, atomically: temp file + rename, so an interrupted run never leaves a half-written
    cache; a cache that cannot be written (read-only home, full disk) is simply not written.

    `json.dumps` (the C encoder, one string) rather than `json.dump` (pure-Python chunks), which
    writes the scan cache in small pieces from Python code.
    """
    import json

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temp_file(path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, separators=(",", ":")))
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            import contextlib

            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _temp_file(folder: Path) -> tuple[int, str]:
    """A new file of its own in `folder` (fd, path), as `tempfile.mkstemp` makes one, without
    importing tempfile (it imports random and shutil, on every scan's start-up path)."""
    for _ in range(100):
        name = os.path.join(folder, f".tmp-{os.urandom(8).hex()}")
        try:
            return os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")
