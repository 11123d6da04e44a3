"""Secrets kept in the storage root to sign short-lived URLs (shared by every worker on the store)."""

from __future__ import annotations

import contextlib
import os
import time

from gator_setup.mirror.ids import HubError
from gator_setup.mirror.store import Store


def storage_secret(store: Store, name: str) -> bytes:
    """The 64-hex-digit secret `name` in the storage root, created once (0600) by whoever is first."""
    path = store.root / name
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(32).hex().encode())
    for _ in range(50):  # another worker may be writing it right now
        key = path.read_bytes().strip()
        if len(key) == 64:
            return key
        time.sleep(0.01)
    raise HubError(500, None, f"The signing key {name} in the storage folder is unreadable.")
