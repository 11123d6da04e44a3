"""Xet object formats, parsing and hashing only (no I/O): xorbs, shards, chunk and Merkle hashes.

Follows the Xet protocol specification (xet-core `spec/`: xorb.md, shard.md, hashing.md, api.md), checked
against the bytes hf_xet 1.8.0 sends (tests/mirror/test_xet_format.py captures them from a live upload):

* a xorb is a run of chunks, each an 8-byte header (version 0, compressed size u24, scheme, raw size
  u24) and its data: scheme 0 none, 1 an LZ4 *frame*, 2 byte-grouping-4 then an LZ4 frame;
* a chunk hash is BLAKE3 keyed with DATA_KEY; a xorb hash is the root of Xet's aggregated Merkle tree
  over (chunk hash, size); a file hash is that root keyed again with 32 zero bytes; a term's
  verification hash is BLAKE3 keyed with VERIFICATION_KEY over its raw chunk hashes;
* hashes are 32 raw bytes, read as four little-endian u64: their string form (URLs, `{h:x}` in the
  Merkle tree) prints each u64 as 16 hex digits, and the sha256 in a shard's metadata is stored the same
  way.

Every malformed input raises XetFormatError with a one-line reason (the routes answer 400 with it).
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import blake3
import lz4.frame

DATA_KEY = bytes.fromhex("6697f5775b9550de3135cbaca597181c9de421109beb2b58b4d0b04b93adf229")
INTERNAL_NODE_KEY = bytes.fromhex("017ec5c7a5472996fd946666b48a02e65ddd536f37c76dd2f86352e64a53713f")
VERIFICATION_KEY = bytes.fromhex("7f1857d6ce56ed66127ff913e7a5c3f3a4cd26d5b5db49e64124987f28fb94c3")

CHUNK_HEADER = 8
MAX_CHUNK = 128 * 1024  # the spec's largest raw chunk
MAX_XORB = 64 * 1024 * 1024  # serialized; the Hub's CAS refuses larger xorbs too
# hf_xet and huggingface.js put at most 8192 chunks in a xorb (MAX_XORB_CHUNKS); the spec sets no limit,
# but 64 MiB of 1-byte chunks would be 7.4 million, gigabytes of bookkeeping: 8 times theirs is plenty.
MAX_XORB_CHUNKS = 64 * 1024
SCHEMES = {0: "none", 1: "lz4", 2: "bg4-lz4"}
XORB_FOOTER_IDENT = b"XETBLOB"  # xet-core may append its CasObjectInfo footer after the chunks

SHARD_TAG = bytes.fromhex("48465265706f4d6574614461746100556967456a7b815783a5bdd95ccdd14aa9")
SHARD_HEADER_VERSION = 2
ENTRY = 48  # every shard record is 48 bytes
FLAG_VERIFICATION = 1 << 31
FLAG_METADATA = 1 << 30
BOOKEND = b"\xff" * 32
MERKLE_BRANCHING = 4


Data = bytes | memoryview | mmap.mmap  # a serialized xorb, in memory or mapped from its file


class XetFormatError(ValueError):
    """Bytes that are not a well-formed xorb or shard (the message says what is wrong)."""


def hash_hex(raw: bytes) -> str:
    """The string form of a 32-byte Xet hash (each 8-byte word printed as a little-endian u64)."""
    return "".join(raw[i : i + 8][::-1].hex() for i in range(0, 32, 8))


def hash_from_hex(text: str) -> bytes:
    """The raw 32 bytes of a hash string (inverse of hash_hex); XetFormatError if malformed."""
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise XetFormatError("A hash must be 64 lowercase hex digits.")
    return b"".join(bytes.fromhex(text[i : i + 16])[::-1] for i in range(0, 64, 16))


def chunk_hash(data: bytes) -> bytes:
    return blake3.blake3(data, key=DATA_KEY).digest()


def _next_cut(nodes: Sequence[tuple[bytes, int]], start: int) -> int:
    left = len(nodes) - start
    if left <= 2:
        return left
    end = min(2 * MERKLE_BRANCHING + 1, left)
    for i in range(2, end):
        if int.from_bytes(nodes[start + i][0][24:32], "little") % MERKLE_BRANCHING == 0:
            return i + 1
    return end


def merkle_root(nodes: Sequence[tuple[bytes, int]]) -> bytes:
    """Root of Xet's aggregated hash tree over (hash, size) leaves (xet-core `aggregated_node_hash`)."""
    if not nodes:
        return bytes(32)
    level = list(nodes)
    while len(level) > 1:
        up: list[tuple[bytes, int]] = []
        start = 0
        while start < len(level):
            cut = start + _next_cut(level, start)
            group = level[start:cut]
            text = "".join(f"{hash_hex(h)} : {size}\n" for h, size in group)
            digest = blake3.blake3(text.encode(), key=INTERNAL_NODE_KEY).digest()
            up.append((digest, sum(size for _, size in group)))
            start = cut
        level = up
    return level[0][0]


def xorb_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    return merkle_root(chunks)


def file_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    if not chunks:
        return bytes(32)
    return blake3.blake3(merkle_root(chunks), key=bytes(32)).digest()


def verification_hash(chunk_hashes: Sequence[bytes]) -> bytes:
    return blake3.blake3(b"".join(chunk_hashes), key=VERIFICATION_KEY).digest()


# ---- xorbs


@dataclass(frozen=True, slots=True)
class ChunkRef:
    """Where one chunk lies in a serialized xorb."""

    offset: int  # of its header
    compressed: int
    scheme: int
    size: int  # raw


def chunk_refs(xorb: Data) -> list[ChunkRef]:
    """The chunks of a serialized xorb (headers only; a trailing xet-core footer is ignored)."""
    view = memoryview(xorb)
    out: list[ChunkRef] = []
    pos = 0
    while pos < len(view):
        if bytes(view[pos : pos + len(XORB_FOOTER_IDENT)]) == XORB_FOOTER_IDENT and out:
            break
        if len(view) - pos < CHUNK_HEADER:
            raise XetFormatError(f"Xorb truncated in the header of chunk {len(out)}.")
        if len(out) == MAX_XORB_CHUNKS:
            raise XetFormatError(f"Xorb of more than {MAX_XORB_CHUNKS} chunks.")
        version, scheme = view[pos], view[pos + 4]
        compressed = int.from_bytes(view[pos + 1 : pos + 4], "little")
        size = int.from_bytes(view[pos + 5 : pos + 8], "little")
        if version != 0:
            raise XetFormatError(f"Chunk {len(out)}: unknown chunk header version {version}.")
        if scheme not in SCHEMES:
            raise XetFormatError(f"Chunk {len(out)}: unknown compression scheme {scheme}.")
        if size == 0 or size > MAX_CHUNK or (scheme == 0 and compressed != size):
            raise XetFormatError(f"Chunk {len(out)}: invalid sizes ({compressed} stored, {size} raw).")
        if pos + CHUNK_HEADER + compressed > len(view):
            raise XetFormatError(f"Xorb truncated in the data of chunk {len(out)}.")
        out.append(ChunkRef(pos, compressed, scheme, size))
        pos += CHUNK_HEADER + compressed
    if not out:
        raise XetFormatError("Empty xorb.")
    return out


def _lz4_frame(data: bytes | memoryview, size: int, index: int) -> bytes:
    dec = lz4.frame.LZ4FrameDecompressor()
    try:
        # max_length bounds the output: a hostile frame cannot inflate past the declared size.
        out = dec.decompress(bytes(data), max_length=size + 1)
    except RuntimeError:
        raise XetFormatError(f"Chunk {index}: bad LZ4 frame.") from None
    if len(out) != size or not dec.eof or dec.unused_data:
        raise XetFormatError(f"Chunk {index}: LZ4 data does not decode to {size} bytes.")
    return bytes(out)


def regroup_bg4(grouped: bytes) -> bytes:
    """Undo byte grouping 4: the data is 4 groups (byte i of every 4, the first n % 4 groups one longer)."""
    n = len(grouped)
    out = bytearray(n)
    pos = 0
    for i in range(4):
        length = n // 4 + (1 if i < n % 4 else 0)
        out[i::4] = grouped[pos : pos + length]
        pos += length
    return bytes(out)


def group_bg4(data: bytes) -> bytes:
    """Byte grouping 4 (the inverse of regroup_bg4), for tests and symmetry."""
    return b"".join(data[i::4] for i in range(4))


def chunk_data(xorb: Data, ref: ChunkRef, index: int = 0) -> bytes:
    """The raw bytes of one chunk."""
    body = memoryview(xorb)[ref.offset + CHUNK_HEADER : ref.offset + CHUNK_HEADER + ref.compressed]
    if ref.scheme == 0:
        return bytes(body)
    raw = _lz4_frame(body, ref.size, index)
    return regroup_bg4(raw) if ref.scheme == 2 else raw


@dataclass(frozen=True)
class Xorb:
    """A parsed, hashed xorb: where each chunk is and its (hash, raw size)."""

    refs: list[ChunkRef]
    chunks: list[tuple[bytes, int]]

    @property
    def hash(self) -> bytes:
        return xorb_hash(self.chunks)


def parse_xorb(xorb: Data) -> Xorb:
    """Decode every chunk of a serialized xorb and hash it; XetFormatError for anything malformed."""
    if len(xorb) > MAX_XORB:
        raise XetFormatError("Xorb larger than 64 MiB.")
    refs = chunk_refs(xorb)
    chunks = [(chunk_hash(chunk_data(xorb, r, i)), r.size) for i, r in enumerate(refs)]
    return Xorb(refs, chunks)


# ---- shards


@dataclass(frozen=True, slots=True)
class Term:
    """One segment of a file: chunks [start, end) of a xorb, `size` raw bytes."""

    xorb: bytes
    size: int
    start: int
    end: int
    verification: bytes | None = None


@dataclass(frozen=True)
class ShardFile:
    """One file of a shard's file-info section."""

    hash: bytes
    terms: list[Term]
    sha256: str | None  # hex, from the metadata extension when present

    @property
    def size(self) -> int:
        return sum(t.size for t in self.terms)


@dataclass(frozen=True)
class ShardXorb:
    """One xorb of a shard's CAS-info section (hash, number of chunks, raw bytes)."""

    hash: bytes
    chunks: int
    size: int


@dataclass(frozen=True)
class Shard:
    files: list[ShardFile]
    xorbs: list[ShardXorb]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def record(self, what: str) -> bytes:
        if self.pos + ENTRY > len(self.data):
            raise XetFormatError(f"Shard truncated in {what}.")
        rec = self.data[self.pos : self.pos + ENTRY]
        self.pos += ENTRY
        return rec


def parse_shard(data: bytes, *, max_files: int = 100_000, max_terms: int = 10_000_000) -> Shard:
    """The file-info and CAS-info sections of a shard (as uploaded: the footer may be absent)."""
    if len(data) < ENTRY or data[:32] != SHARD_TAG:
        raise XetFormatError("Not a Xet shard (bad header tag).")
    version, footer_size = struct.unpack_from("<QQ", data, 32)
    if version != SHARD_HEADER_VERSION:
        raise XetFormatError(f"Unsupported shard version {version}.")
    if footer_size > len(data) - ENTRY:
        raise XetFormatError("Shard footer size beyond the shard.")
    rd = _Reader(data[: len(data) - footer_size])
    rd.pos = ENTRY
    files: list[ShardFile] = []
    terms_seen = 0
    while True:
        head = rd.record("a file header")
        if head[:32] == BOOKEND:
            break
        flags, count = struct.unpack_from("<II", head, 32)
        terms_seen += count
        if len(files) >= max_files or terms_seen > max_terms:
            raise XetFormatError("Shard lists too many files or segments.")
        # Segments, then (flagged) one verification entry each: checked in size before anything is built.
        checked = bool(flags & FLAG_VERIFICATION)
        if count * (1 + checked) > (len(rd.data) - rd.pos) // ENTRY:
            raise XetFormatError("Shard truncated in a file's segment list.")
        terms = []
        for _ in range(count):
            rec = rd.record("a file segment")
            _cas_flags, size, start, end = struct.unpack_from("<IIII", rec, 32)
            if end <= start:
                raise XetFormatError("File segment with an empty chunk range.")
            at = rd.pos + (count - 1) * ENTRY  # its verification entry
            terms.append(Term(rec[:32], size, start, end, rd.data[at : at + 32] if checked else None))
        rd.pos += count * ENTRY * checked
        sha = None
        if flags & FLAG_METADATA:
            sha = hash_hex(rd.record("a file metadata entry")[:32])
        files.append(ShardFile(head[:32], terms, sha))
    xorbs: list[ShardXorb] = []
    while True:
        head = rd.record("a xorb header")
        if head[:32] == BOOKEND:
            break
        _flags, count, size, _on_disk = struct.unpack_from("<IIII", head, 32)
        if count > (len(rd.data) - rd.pos) // ENTRY:
            raise XetFormatError("Shard truncated in a xorb's chunk list.")
        rd.pos += count * ENTRY  # chunk hashes: the mirror uses the ones it computed from the xorb
        xorbs.append(ShardXorb(head[:32], count, size))
    return Shard(files, xorbs)
