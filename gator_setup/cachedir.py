"""Where gator keeps its caches ($GATOR_CACHE_DIR, else the platform user cache dir), and how it
writes them."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from gator_setup.envfacts import Distribution

D = TypeVar("D", bound="Distribution")

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def cache_root() -> Path:
    """The gator cache dir: $GATOR_CACHE_DIR, else the platform user cache dir."""
    env = os.environ.get("GATOR_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("gator", appauthor=False))


def dist_stem(key: str, version: str) -> str:
    """A distribution's name in a cache file's name: its key and version, anything a file name
    should not hold replaced."""
    return _UNSAFE.sub("_", f"{key}-{version}")


def dist_file(folder: Path, dist: Distribution) -> Path:
    """The entry of `dist` (by key and version) in a per-distribution cache folder."""
    return folder / f"{dist_stem(dist.key, dist.version)}.json"


def not_cached(folder: Path, dists: Iterable[D]) -> list[D]:
    """Those of `dists` without an entry in `folder`: one listing of the folder, where a stat per
    distribution cost a cold doctor's start-up milliseconds."""
    try:
        present = frozenset(os.listdir(folder))
    except OSError:
        present = frozenset()
    return [d for d in dists if f"{dist_stem(d.key, d.version)}.json" not in present]


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
