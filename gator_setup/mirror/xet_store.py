"""Xet objects on disk: verified xorbs, who uploaded each, and where their chunks now live in blobs.

Layout under the storage root::

    xet/xorbs/ab/<xorb hash>          a xorb as uploaded, kept only once its chunks hash to its name
    xet/xorbs/ab/<xorb hash>.map      where each of its chunks lies in a stored blob (JSON)
    xet/owners/<user>/ab/<xorb hash>  empty marker: `user` uploaded (so holds the bytes of) that xorb

A shard may build a file only from xorbs its writer uploaded: knowing a xorb hash is no more a right to
its bytes than knowing a sha256 is (see uploads.py). Ownership is per user, not per repo, because
hf_xet dedups against the xorbs of its earlier uploads from the same machine, whatever their repo
(reproduced: a second upload of a file to another repo sends no xorb, only a shard naming the first
repo's xorb); the user who uploaded those bytes holds them whichever repo they go to next.

Later shards may name a xorb again at any time (hf_xet keeps its shards), so a xorb stays usable for
good, but its bytes need not stay: once the files rebuilt from it hold every one of its chunks, the
`.map` says where (blob, offset, size) and the xorb file is removed, so Xet uploads cost no more disk
than the blobs themselves. A xorb whose map points at a blob that is gone is no longer usable.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from pathlib import Path
from typing import Any

from filelock import FileLock

from gator_setup.mirror import xet_format as xf
from gator_setup.mirror.ids import is_sha256, valid_name
from gator_setup.mirror.store import Store, atomic_write_bytes, atomic_write_json, read_json

CACHE_HINT = "clear the client's Xet cache (HF_HOME/xet) or upload with HF_HUB_DISABLE_XET=1"
Placement = tuple[str, int, int]  # blob sha256, offset, size of one chunk


class XetRefused(Exception):
    """A shard or xorb the mirror will not take (the message is the one-line reason)."""


def _hash_dir(base: Path, hex_hash: str) -> Path:
    return base / hex_hash[:2] / hex_hash


class ChunkSource:
    """The chunks of one stored xorb, from its bytes (memory-mapped) or from the blobs its map names."""

    def __init__(self, count: int) -> None:
        self.count = count

    def chunk(self, index: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds open."""


class _XorbBytes(ChunkSource):
    def __init__(self, path: Path) -> None:
        with open(path, "rb") as fh:
            self.mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)  # page cache, not the heap
        self.refs = xf.chunk_refs(self.mm)
        super().__init__(len(self.refs))

    def chunk(self, index: int) -> bytes:
        return xf.chunk_data(self.mm, self.refs[index], index)

    def close(self) -> None:
        with contextlib.suppress(BufferError):
            self.mm.close()


class _Mapped(ChunkSource):
    def __init__(self, store: Store, placements: list[Placement]) -> None:
        super().__init__(len(placements))
        self.store = store
        self.placements = placements
        self.files: dict[str, int] = {}

    def chunk(self, index: int) -> bytes:
        sha, offset, size = self.placements[index]
        if sha not in self.files:
            self.files[sha] = os.open(self.store.blob_path(sha), os.O_RDONLY)
        data = os.pread(self.files[sha], size, offset)
        if len(data) != size:
            raise OSError(f"blob {sha} is shorter than its Xet chunk map says")
        return data

    def close(self) -> None:
        for fd in self.files.values():
            os.close(fd)
        self.files.clear()


class XetStore:
    """Xorbs, their uploaders and their chunk maps in one mirror store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.root = store.root / "xet"

    def xorb_path(self, hex_hash: str) -> Path:
        return _hash_dir(self.root / "xorbs", hex_hash)

    def _map_path(self, hex_hash: str) -> Path:
        return self.xorb_path(hex_hash).with_suffix(".map")

    def _owner_path(self, user: str, hex_hash: str) -> Path:
        if not valid_name(user):
            raise XetRefused("Invalid user name.")
        return _hash_dir(self.root / "owners" / user, hex_hash)

    def _placements(self, hex_hash: str) -> list[Placement] | None:
        """The complete chunk map of a xorb whose blobs are all stored, else None."""
        data: Any = read_json(self._map_path(hex_hash), None)
        if not isinstance(data, dict) or not isinstance(data.get("at"), list):
            return None
        blobs = data.get("blobs")
        if not isinstance(blobs, list) or not all(is_sha256(b) and self.store.has_blob(b) for b in blobs):
            return None
        out: list[Placement] = []
        for item in data["at"]:
            if not (isinstance(item, list) and len(item) == 3 and all(isinstance(v, int) for v in item)):
                return None
            out.append((blobs[item[0]], item[1], item[2]))
        return out

    def owns(self, user: str, hex_hash: str) -> bool:
        """Whether `user` uploaded xorb `hex_hash` and its chunks are still at hand."""
        if not self._owner_path(user, hex_hash).is_file():
            return False
        return self.xorb_path(hex_hash).is_file() or self._placements(hex_hash) is not None

    def open_xorb(self, hex_hash: str) -> ChunkSource:
        """The chunks of a stored xorb (call `owns` first); OSError if it went away meanwhile."""
        try:
            return _XorbBytes(self.xorb_path(hex_hash))
        except FileNotFoundError:
            placements = self._placements(hex_hash)
            if placements is None:
                raise
            return _Mapped(self.store, placements)

    def put_xorb(self, user: str, hex_hash: str, body: bytes) -> bool:
        """Verify `body` against its hash and keep it for `user`; True if it is new to `user`.

        Whether anyone else stored these bytes is never told (that would confirm a guess at others'
        content). XetFormatError when the body is malformed or hashes to something else (nothing kept).
        """
        parsed = xf.parse_xorb(body)
        got = xf.hash_hex(parsed.hash)
        if got != hex_hash:
            raise xf.XetFormatError(f"Xorb body hashes to {got}, not to the hash in the URL.")
        new_to_user = not self.owns(user, hex_hash)
        path = self.xorb_path(hex_hash)
        # Verified bytes that are stored already (as a file or, through the map, in blobs) stay as they are.
        if not path.is_file() and self._placements(hex_hash) is None:
            atomic_write_bytes(path, body)
        elif new_to_user:
            # Written and synced all the same, into a temp blob that is dropped: a first upload must
            # not be quicker when others stored the bytes (an fsync of up to 64 MiB is easy to time).
            sink = self.store.new_blob()
            try:
                sink.write(body)
                os.fsync(sink.fileno())
            finally:
                sink.abort()
        owner = self._owner_path(user, hex_hash)
        owner.parent.mkdir(parents=True, exist_ok=True)
        owner.touch()
        return new_to_user

    def place(self, hex_hash: str, count: int, found: dict[int, Placement]) -> None:
        """Note where chunks of a xorb now lie in blobs; drop the xorb's bytes once all `count` are known."""
        path = self._map_path(hex_hash)
        # One lock for all maps: updates are small, and two shards naming one xorb must not lose entries.
        with FileLock(str(self.root / "maps.lock")):
            if self._placements(hex_hash) is not None:
                return
            old: Any = read_json(path, None)
            at: list[Placement | None] = [None] * count
            if isinstance(old, dict) and old.get("count") == count:
                prev = [b if is_sha256(b) else "" for b in old.get("blobs", [])]
                for i, item in enumerate(old.get("partial", [])[:count]):
                    ok = isinstance(item, list) and len(item) == 3 and all(isinstance(v, int) for v in item)
                    if ok and 0 <= item[0] < len(prev) and prev[item[0]]:
                        at[i] = (prev[item[0]], item[1], item[2])
            for i, slot in found.items():
                if 0 <= i < count:
                    at[i] = slot
            index: dict[str, int] = {}
            for maybe in at:
                if maybe is not None:
                    index.setdefault(maybe[0], len(index))
            rows = [[index[w[0]], w[1], w[2]] if w else None for w in at]
            # Drop the bytes only when every chunk is in a blob that is still there.
            complete = all(w is not None for w in at) and all(self.store.has_blob(b) for b in index)
            key = "at" if complete else "partial"
            atomic_write_json(path, {"count": count, "blobs": list(index), key: rows})
            if complete:
                with contextlib.suppress(FileNotFoundError):
                    self.xorb_path(hex_hash).unlink()
