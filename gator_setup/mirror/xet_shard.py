"""Registering a Xet shard: each file rebuilt from its writer's xorbs, verified, published as a blob.

A shard lists files as segments (xorb, chunk range). Every segment's size and verification hash, the
file's Xet hash, its sha256 (the shard's, against the one computed here) and the size limit are checked
while the file is rebuilt into a temp blob; a blob is published only once its file checked out, one
file at a time (one open temp file however many files the shard lists). Only when every file of the
shard passed do their sha256s count as this writer's uploads (`record`, called once for them all),
and the xorbs' chunk maps note where their chunks now lie (xet_store.py).
"""

from __future__ import annotations

from collections.abc import Callable

from gator_setup.mirror import xet_format as xf
from gator_setup.mirror.store import BlobWriter, FileEntry
from gator_setup.mirror.xet_store import CACHE_HINT, ChunkSource, Placement, XetRefused, XetStore


class _Sources:
    """The xorbs one shard reads, opened once each."""

    def __init__(self, xs: XetStore) -> None:
        self.xs = xs
        self.open: dict[str, ChunkSource] = {}

    def get(self, hex_hash: str) -> ChunkSource:
        if hex_hash not in self.open:
            self.open[hex_hash] = self.xs.open_xorb(hex_hash)
        return self.open[hex_hash]

    def close(self) -> None:
        for src in self.open.values():
            src.close()
        self.open.clear()


def _check_owned(xs: XetStore, user: str, shard: xf.Shard) -> None:
    for hex_hash in sorted({xf.hash_hex(t.xorb) for f in shard.files for t in f.terms}):
        if not xs.owns(user, hex_hash):
            raise XetRefused(
                f"The shard refers to xorb {hex_hash}, which {user} has not uploaded to this mirror; "
                + CACHE_HINT
                + "."
            )


def _write_file(
    f: xf.ShardFile, writer: BlobWriter, sources: _Sources, found: dict[str, dict[int, tuple[int, int]]]
) -> None:
    """Rebuild one file into `writer`; `found[xorb][chunk]` gets (offset, size) of each chunk in it."""
    leaves: list[tuple[bytes, int]] = []
    for t in f.terms:
        hex_hash = xf.hash_hex(t.xorb)
        src = sources.get(hex_hash)
        if t.end > src.count:
            raise XetRefused(f"A segment names chunks {t.start}-{t.end} of xorb {hex_hash}, which has fewer.")
        term_leaves = []
        where = found.setdefault(hex_hash, {})
        wrong_size = XetRefused(f"A segment of xorb {hex_hash} does not have the size the shard says.")
        left = t.size  # checked before each write: the declared sizes bound the bytes written
        for i in range(t.start, t.end):
            data = src.chunk(i)
            left -= len(data)
            if left < 0:
                raise wrong_size
            term_leaves.append((xf.chunk_hash(data), len(data)))
            where.setdefault(i, (writer.size, len(data)))
            writer.write(data)
        if left:
            raise wrong_size
        if t.verification is not None and t.verification != xf.verification_hash([h for h, _ in term_leaves]):
            raise XetRefused(f"A segment of xorb {hex_hash} fails its verification hash.")
        leaves.extend(term_leaves)
    if xf.file_hash(leaves) != f.hash:
        raise XetRefused("A file's chunks do not hash to the file hash the shard names.")


def register_shard(
    xs: XetStore, user: str, shard: xf.Shard, *, max_file_size: int, record: Callable[[list[str]], None]
) -> list[FileEntry]:
    """Rebuild, verify and publish every file of `shard` from `user`'s xorbs (module docstring).

    XetRefused (or XetFormatError from a stored xorb) names the first problem; then nothing is
    recorded, and no temp file is left.
    """
    _check_owned(xs, user, shard)
    for f in shard.files:
        if f.size > max_file_size:
            raise XetRefused(f"A file of {f.size} bytes is larger than this mirror takes.")
    entries: list[FileEntry] = []
    placed: dict[str, dict[int, Placement]] = {}
    sources = _Sources(xs)
    try:
        for f in shard.files:
            writer = xs.store.new_blob()
            found: dict[str, dict[int, tuple[int, int]]] = {}
            try:
                _write_file(f, writer, sources, found)
                # Compared here, not by verify(sha256=...), which keeps a mismatch in quarantine/ for
                # good: a tiny shard can describe a huge file, so a wrong claim must leave nothing.
                digest = writer.verify(size=f.size)  # the size is right by construction
                if f.sha256 is not None and digest != f.sha256:
                    raise XetRefused("A file's bytes do not match the sha256 the shard names.")
                entry = writer.publish()
            finally:
                writer.abort()  # drops the temp file; a no-op once published
            entries.append(entry)
            sha = str(entry["sha256"])
            for hex_hash, chunks in found.items():
                mine = placed.setdefault(hex_hash, {})
                for i, (offset, size) in chunks.items():
                    mine.setdefault(i, (sha, offset, size))
        counts = {h: src.count for h, src in sources.open.items()}
    finally:
        sources.close()
    if entries:
        record(list(dict.fromkeys(str(e["sha256"]) for e in entries)))  # one write for them all
    for hex_hash, where in placed.items():
        xs.place(hex_hash, counts[hex_hash], where)
    return entries
