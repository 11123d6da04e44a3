"""Attacks on the mirror's Xet upload routes (issues 17 and 20) by outsiders and low-privilege writers,
over raw HTTP: what the answers reveal, what a small shard or xorb can make the server do, what a
failed upload leaves behind. The real-client flows are in test_xet_uploads.py."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import lz4.frame
import pytest

from gator_setup.mirror import xet_format as xf
from gator_setup.mirror.store import BlobWriter, Store
from gator_setup.mirror.xet_shard import register_shard
from gator_setup.mirror.xet_store import XetRefused, XetStore

ALICE = "hf_alice_write_0001"
BOB = "hf_bob_write_000002"
RIGHT = "right"  # claim the true sha256 of the file
ZEROS = b"\0" * xf.MAX_CHUNK  # one largest chunk: LZ4 packs it into about 500 bytes


def _chunk(data: bytes) -> bytes:
    packed = lz4.frame.compress(data)
    return bytes([0]) + len(packed).to_bytes(3, "little") + b"\x01" + len(data).to_bytes(3, "little") + packed


def _xorb(*chunks: bytes) -> tuple[str, bytes]:
    leaves = [(xf.chunk_hash(c), len(c)) for c in chunks]
    return xf.hash_hex(xf.xorb_hash(leaves)), b"".join(_chunk(c) for c in chunks)


def _shard(xorb_hex: str, terms: list[tuple[int, int, int]], chunks: list[bytes], sha: str | None) -> bytes:
    """A one-file shard of `terms` (declared size, start, end) over one xorb of `chunks`; `sha` claimed."""
    data = b"".join(b"".join(chunks[a:b]) for _, a, b in terms)
    leaves = [(xf.chunk_hash(c), len(c)) for _, a, b in terms for c in chunks[a:b]]
    flags = xf.FLAG_METADATA if sha else 0
    out = xf.SHARD_TAG + struct.pack("<QQ", 2, 0)
    out += xf.file_hash(leaves) + struct.pack("<II", flags, len(terms)) + bytes(8)
    for size, a, b in terms:
        out += xf.hash_from_hex(xorb_hex) + struct.pack("<IIII", 0, size, a, b)
    if sha:
        out += xf.hash_from_hex(sha if sha != RIGHT else hashlib.sha256(data).hexdigest()) + bytes(16)
    return out + (xf.BOOKEND + bytes(16)) * 2


@pytest.fixture
def xs(tmp_path: Path) -> XetStore:
    return XetStore(Store(tmp_path / "store"))


@pytest.fixture
def biggest_write(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The largest size any blob under construction reached (temp files included)."""
    seen = [0]
    write = BlobWriter.write

    def tracked(self: BlobWriter, data: bytes) -> None:
        write(self, data)
        seen[0] = max(seen[0], self.size)

    monkeypatch.setattr(BlobWriter, "write", tracked)
    return seen


def _register(xs: XetStore, shard: bytes, max_file_size: int = 1 << 40) -> list[str]:
    recorded: list[str] = []
    register_shard(xs, "alice", xf.parse_shard(shard), max_file_size=max_file_size, record=recorded.append)
    return recorded


def _leftovers(store: Store) -> list[Path]:
    return [p for d in ("tmp", "quarantine") if (store.root / d).is_dir() for p in (store.root / d).iterdir()]


def test_a_segment_that_lies_about_its_size_is_refused_before_its_bytes_are_written(
    xs: XetStore, biggest_write: list[int]
) -> None:
    # 200 chunks of 128 KiB: a 110 kB xorb holding 25 MiB. A segment naming all of them but claiming
    # 1 byte must not make the mirror write 25 MiB first (with the 64 MiB xorb limit, 16 GB).
    chunks = [ZEROS] * 200
    hex_hash, body = _xorb(*chunks)
    xs.put_xorb("alice", hex_hash, body)
    with pytest.raises(XetRefused, match="size the shard says"):
        _register(xs, _shard(hex_hash, [(1, 0, 200)], chunks, None))
    assert biggest_write[0] <= xf.MAX_CHUNK
    assert _leftovers(xs.store) == []
    # Declared sizes are what the size limit is checked on, so they must bind the bytes written.
    with pytest.raises(XetRefused, match="size the shard says"):
        _register(xs, _shard(hex_hash, [(xf.MAX_CHUNK, 0, 1), (1, 0, 200)], chunks, None), 2 * xf.MAX_CHUNK)
    assert biggest_write[0] <= 2 * xf.MAX_CHUNK
    assert len(_register(xs, _shard(hex_hash, [(len(ZEROS) * 3, 5, 8)], chunks, RIGHT))) == 1


def test_a_shard_claiming_the_wrong_sha256_leaves_nothing_behind(xs: XetStore) -> None:
    # A tiny xorb and a shard repeating its one chunk: megabytes rebuilt from a few hundred bytes sent.
    # A wrong sha256 claim is the writer's error: the rebuilt file is dropped, not kept in quarantine/
    # (where it would stay for good: one such shard a minute fills any disk).
    hex_hash, body = _xorb(ZEROS)
    xs.put_xorb("alice", hex_hash, body)
    terms = [(len(ZEROS), 0, 1)] * 40
    with pytest.raises(XetRefused, match="do not match the sha256"):
        _register(xs, _shard(hex_hash, terms, [ZEROS], "ab" * 32))
    assert _leftovers(xs.store) == []
    recorded = _register(xs, _shard(hex_hash, terms, [ZEROS], RIGHT))
    assert recorded == [hashlib.sha256(ZEROS * 40).hexdigest()] and _leftovers(xs.store) == []


def test_a_file_over_the_size_limit_is_refused_before_anything_is_written(
    xs: XetStore, biggest_write: list[int]
) -> None:
    # 1 TB declared in 4 GB segments (sizes are u32 in a shard: the total must not wrap anywhere).
    hex_hash, body = _xorb(ZEROS)
    xs.put_xorb("alice", hex_hash, body)
    shard = _shard(hex_hash, [(2**32 - 1, 0, 1)] * 256, [ZEROS], None)
    with pytest.raises(XetRefused, match="larger than this mirror takes"):
        _register(xs, shard, max_file_size=50 * 1024**3)
    assert biggest_write[0] == 0 and _leftovers(xs.store) == []
