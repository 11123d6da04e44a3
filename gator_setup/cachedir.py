"""Where gator keeps its caches: $GATOR_CACHE_DIR, else the platform user cache dir."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The gator cache dir: $GATOR_CACHE_DIR, else the platform user cache dir."""
    env = os.environ.get("GATOR_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("gator", appauthor=False))
