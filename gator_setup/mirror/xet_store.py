"""Xet objects on disk: verified xorbs, who uploaded each, and files rebuilt from them into blobs.

Layout under the storage root::

    xet/xorbs/ab/<xorb hash>          a xorb as uploaded, kept only once its chunks hash to its name
    xet/owners/<user>/ab/<xorb hash>  empty marker: `user` uploaded (so holds the bytes of) that xorb

A shard may build a file only from xorbs its writer uploaded: knowing a xorb hash is no more a right to
its bytes than knowing a sha256 is (see uploads.py). Ownership is per user, not per repo, because
hf_xet dedups against the xorbs of its earlier uploads from the same machine, whatever their repo
(reproduced: a second upload of a file to another repo sends no xorb, only a shard naming the first
repo's xorb); the user who uploaded those bytes holds them whichever repo they go to next.
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Callable
from pathlib import Path

from gator_setup.mirror import xet_format as xf
from gator_setup.mirror.ids import valid_name
from gator_setup.mirror.store import BlobMismatch, BlobWriter, FileEntry, Store, atomic_write_bytes

CACHE_HINT = "clear the client's Xet cache (HF_HOME/xet) or upload with HF_HUB_DISABLE_XET=1"


class XetRefused(Exception):
    """A shard or xorb the mirror will not take (the message is the one-line reason)."""


def _hash_dir(base: Path, hex_hash: str) -> Path:
    return base / hex_hash[:2] / hex_hash


class XetStore:
    """Xorbs and their uploaders in one mirror store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.root = store.root / "xet"

    def xorb_path(self, hex_hash: str) -> Path:
        return _hash_dir(self.root / "xorbs", hex_hash)

    def _owner_path(self, user: str, hex_hash: str) -> Path:
        if not valid_name(user):
            raise XetRefused("Invalid user name.")
        return _hash_dir(self.root / "owners" / user, hex_hash)

    def owns(self, user: str, hex_hash: str) -> bool:
        """Whether `user` uploaded xorb `hex_hash` (and it is still stored)."""
        return self._owner_path(user, hex_hash).is_file() and self.xorb_path(hex_hash).is_file()

    def put_xorb(self, user: str, hex_hash: str, body: bytes) -> bool:
        """Verify `body` against its hash and keep it for `user`; True if the bytes were new here.

        XetFormatError when the body is malformed or hashes to something else (nothing is kept).
        """
        parsed = xf.parse_xorb(body)
        got = xf.hash_hex(parsed.hash)
        if got != hex_hash:
            raise xf.XetFormatError(f"Xorb body hashes to {got}, not to the hash in the URL.")
        path = self.xorb_path(hex_hash)
        inserted = not path.is_file()
        if inserted:
            atomic_write_bytes(path, body)
        owner = self._owner_path(user, hex_hash)
        owner.parent.mkdir(parents=True, exist_ok=True)
        owner.touch()
        return inserted


class _Xorbs:
    """The stored xorbs a shard reads, memory-mapped (the page cache holds them, not the heap)."""

    def __init__(self, xs: XetStore) -> None:
        self.xs = xs
        self.open: dict[str, tuple[mmap.mmap, list[xf.ChunkRef]]] = {}

    def get(self, hex_hash: str) -> tuple[mmap.mmap, list[xf.ChunkRef]]:
        if hex_hash not in self.open:
            with open(self.xs.xorb_path(hex_hash), "rb") as fh:
                mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            self.open[hex_hash] = (mm, xf.chunk_refs(mm))
        return self.open[hex_hash]

    def close(self) -> None:
        for mm, _ in self.open.values():
            with contextlib.suppress(BufferError):
                mm.close()
        self.open.clear()


def _check_owned(xs: XetStore, user: str, shard: xf.Shard) -> None:
    for hex_hash in sorted({xf.hash_hex(t.xorb) for f in shard.files for t in f.terms}):
        if not xs.owns(user, hex_hash):
            raise XetRefused(
                f"The shard refers to xorb {hex_hash}, which {user} has not uploaded to this mirror; "
                + CACHE_HINT
                + "."
            )


def _write_file(f: xf.ShardFile, writer: BlobWriter, xorbs: _Xorbs) -> None:
    """Rebuild one file's bytes into `writer`, checking each term and the file's Xet hash."""
    leaves: list[tuple[bytes, int]] = []
    for t in f.terms:
        hex_hash = xf.hash_hex(t.xorb)
        body, refs = xorbs.get(hex_hash)
        if t.end > len(refs):
            raise XetRefused(f"A segment names chunks {t.start}-{t.end} of xorb {hex_hash}, which has fewer.")
        term_leaves = []
        for i in range(t.start, t.end):
            data = xf.chunk_data(body, refs[i], i)
            term_leaves.append((xf.chunk_hash(data), len(data)))
            writer.write(data)
        if sum(size for _, size in term_leaves) != t.size:
            raise XetRefused(f"A segment of xorb {hex_hash} does not have the size the shard says.")
        if t.verification is not None and t.verification != xf.verification_hash([h for h, _ in term_leaves]):
            raise XetRefused(f"A segment of xorb {hex_hash} fails its verification hash.")
        leaves.extend(term_leaves)
    if xf.file_hash(leaves) != f.hash:
        raise XetRefused("A file's chunks do not hash to the file hash the shard names.")


def register_shard(
    xs: XetStore, user: str, shard: xf.Shard, *, max_file_size: int, record: Callable[[str], None]
) -> list[FileEntry]:
    """Rebuild every file of `shard` from `user`'s xorbs, verify it, publish it as a blob; `record`
    them all once every file checked out.

    Files are rebuilt one after the other into a temp blob (one open file at a time, however many
    files the shard lists) and published only once verified, so no blob is ever partial; the
    sha256s recorded are the ones computed here from the rebuilt bytes, never ones the client sent,
    and none is recorded if any file of the shard fails.
    """
    _check_owned(xs, user, shard)
    for f in shard.files:
        if f.size > max_file_size:
            raise XetRefused(f"A file of {f.size} bytes is larger than this mirror takes.")
    entries: list[FileEntry] = []
    xorbs = _Xorbs(xs)
    try:
        for f in shard.files:
            writer = xs.store.new_blob()
            try:
                _write_file(f, writer, xorbs)
                try:
                    writer.verify(sha256=f.sha256, size=f.size)
                except BlobMismatch:
                    raise XetRefused("A file's bytes do not match the sha256 the shard names.") from None
                entries.append(writer.publish())
            finally:
                writer.abort()  # no-op once published
    finally:
        xorbs.close()
    for entry in entries:
        record(str(entry["sha256"]))
    return entries
