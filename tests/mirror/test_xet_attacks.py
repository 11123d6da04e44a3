"""Attacks on the mirror's Xet upload routes (issues 17 and 20) by outsiders and low-privilege writers,
over raw HTTP: what the answers reveal, what a small shard or xorb can make the server do, what a
failed upload leaves behind. The real-client flows are in test_xet_uploads.py."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lz4.frame
import pytest
from mirror_server import http_request, import_repo, start_mirror

from gator_setup.mirror import routes_write, uploads, xet_routes
from gator_setup.mirror import store as store_module
from gator_setup.mirror import xet_format as xf
from gator_setup.mirror.core import prune_store
from gator_setup.mirror.ids import parse_repo_id
from gator_setup.mirror.server import BackgroundServer
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
    register_shard(xs, "alice", xf.parse_shard(shard), max_file_size=max_file_size, record=recorded.extend)
    return recorded


def store_leftovers(root: Path) -> list[Path]:
    return [p for d in ("tmp", "quarantine") if (root / d).is_dir() for p in (root / d).iterdir()]


def _leftovers(store: Store) -> list[Path]:
    return store_leftovers(store.root)


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


def test_empty_files_and_extreme_chunk_ranges(xs: XetStore) -> None:
    chunks = [b"a" * 100, b"b" * 200]
    hex_hash, body = _xorb(*chunks)
    xs.put_xorb("alice", hex_hash, body)
    empty = hashlib.sha256(b"").hexdigest()
    assert _register(xs, _shard(hex_hash, [], chunks, RIGHT)) == [empty]  # a zero-length file
    with pytest.raises(XetRefused, match="do not match the sha256"):
        _register(xs, _shard(hex_hash, [], chunks, "cd" * 32))
    for start, end in ((1, 2**32 - 1), (2**32 - 2, 2**32 - 1), (0, 3)):
        with pytest.raises(XetRefused, match="which has fewer"):
            _register(xs, _shard(hex_hash, [(300, start, end)], chunks, None))
    with pytest.raises(xf.XetFormatError, match="empty chunk range"):
        xf.parse_shard(_shard(hex_hash, [(0, 2, 1)], chunks, None))
    assert _leftovers(xs.store) == []


def test_xorbs_of_more_chunks_than_any_client_makes_are_refused_before_they_are_hashed() -> None:
    # 64 MiB of 1-byte chunks is 7.4 million chunks: gigabytes of bookkeeping for one request.
    # hf_xet and huggingface.js put at most 8192 chunks in a xorb; the mirror takes 8 times that.
    one = b"\x00\x01\x00\x00\x00\x01\x00\x00a"
    with pytest.raises(xf.XetFormatError, match="more than 65536 chunks"):
        xf.parse_xorb(one * (xf.MAX_XORB_CHUNKS + 1))
    assert len(xf.chunk_refs(one * 3)) == 3


def test_a_first_upload_of_bytes_others_stored_costs_the_same_write(
    xs: XetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not only the answer (test below): the time must not tell either, so the write and fsync happen.
    synced: list[int] = []
    fsync = os.fsync

    def tracked(fd: int) -> None:
        synced.append(os.fstat(fd).st_size)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", tracked)
    hex_hash, body = _xorb(b"stored once" * 1000)
    assert xs.put_xorb("alice", hex_hash, body) and synced == [len(body)]
    assert xs.put_xorb("bob", hex_hash, body) and synced == [len(body)] * 2
    assert not xs.put_xorb("bob", hex_hash, body) and synced == [len(body)] * 2  # his own: no news
    assert [p.name for p in (xs.root / "xorbs").rglob("*") if p.is_file()] == [hex_hash]
    assert _leftovers(xs.store) == []


def test_a_shard_claiming_more_segments_than_it_holds_is_refused_before_they_are_read() -> None:
    segment = bytes(32) + struct.pack("<IIII", 0, 1, 0, 1)
    head = xf.SHARD_TAG + struct.pack("<QQ", 2, 0) + bytes(32)
    end = (xf.BOOKEND + bytes(16)) * 2
    for flags, count in ((0, 5_000_000), (xf.FLAG_VERIFICATION, 3)):  # 3 segments need 6 records
        shard = head + struct.pack("<II", flags, count) + bytes(8) + segment * 3 + end
        with pytest.raises(xf.XetFormatError, match="truncated in a file's segment list"):
            xf.parse_shard(shard)
    shard = head + struct.pack("<II", xf.FLAG_VERIFICATION, 2) + bytes(8) + segment * 2 + b"v" * 96 + end
    assert [t.verification for t in xf.parse_shard(shard).files[0].terms] == [b"v" * 32] * 2


# ---- over HTTP


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    d = tmp_path_factory.mktemp("xet-attacks")
    (d / "tokens").write_text(f"{ALICE} alice write\n{BOB} bob write\n")
    srv = start_mirror(d / "store", tokens_file=d / "tokens")
    for name, token in (("alice/private", ALICE), ("bob/public", BOB)):
        body = json.dumps({"name": name.split("/")[1], "private": name.endswith("private")}).encode()
        assert _req(srv, "POST", "/api/repos/create", token, body)[0] == 200
    try:
        yield srv
    finally:
        srv.stop()


def _req(srv: BackgroundServer, method: str, path: str, token: str | None, body: bytes | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, _, data = http_request(srv.url, method, path, headers, body)
    return status, json.loads(data) if data else None


def _xet_token(srv: BackgroundServer, repo: str, token: str) -> str:
    status, info = _req(srv, "GET", f"/api/models/{repo}/xet-write-token/main", token)
    assert status == 200, info
    return str(info["accessToken"])


def test_a_xorb_upload_does_not_tell_whether_others_stored_the_same_bytes(server: BackgroundServer) -> None:
    # Content private to alice: a file bob can guess (a known checkpoint, a form with one secret field).
    # If bob's upload of the same bytes answered `was_inserted: false`, it would confirm his guess.
    hex_hash, body = _xorb(b"alice's private guessable content " * 100)
    alice = _xet_token(server, "alice/private", ALICE)
    bob = _xet_token(server, "bob/public", BOB)
    path = f"/api/xet-cas/v1/xorbs/default/{hex_hash}"
    assert _req(server, "POST", path, alice, body) == (200, {"was_inserted": True})
    assert _req(server, "POST", path, bob, body) == (200, {"was_inserted": True})
    assert _req(server, "POST", path, bob, body) == (200, {"was_inserted": False})  # his own, again


NAMES = {
    "uppercase": str.upper,
    "63 digits": lambda h: h[:-1],
    "65 digits": lambda h: h + "0",
    "traversal": lambda h: "..%2F..%2Fxet-token.key",
    "dots": lambda h: "%2e%2e",
    "NUL": lambda h: h + "%00",
    "sign": lambda h: "-" + h[1:],
}


@pytest.mark.parametrize("how", NAMES)
def test_xorb_names_are_64_lowercase_hex_digits_and_nothing_else(server: BackgroundServer, how: str) -> None:
    hex_hash, body = _xorb(b"named")
    token = _xet_token(server, "bob/public", BOB)
    path = f"/api/xet-cas/v1/xorbs/default/{NAMES[how](hex_hash)}"
    assert _req(server, "POST", path, token, body) == (400, {"error": "Malformed hash in the path."})
    assert not any((server.state.store.root / "xet" / "xorbs").rglob(f"*{hex_hash[2:]}*"))


def test_write_token_answers_do_not_tell_a_private_repo_from_a_missing_one(server: BackgroundServer) -> None:
    for token in (None, BOB):
        answers = [
            _req(server, "GET", f"/api/models/alice/{n}/xet-write-token/main", token)
            for n in ("private", "nope")
        ]
        assert answers[0][0] in (401, 403) and answers[0] == answers[1], answers


def test_a_xet_token_stops_working_once_its_user_may_no_longer_write_there(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{ALICE} alice write\norg acme alice:write\n")
    hex_hash, body = _xorb(b"replayed")
    path = f"/api/xet-cas/v1/xorbs/default/{hex_hash}"
    srv = start_mirror(tmp_path / "store", tokens_file=tokens)
    try:
        for org in (None, "acme"):
            create = json.dumps({"name": "m", **({"organization": org} if org else {})}).encode()
            assert _req(srv, "POST", "/api/repos/create", ALICE, create)[0] == 200
        own, org_token = _xet_token(srv, "alice/m", ALICE), _xet_token(srv, "acme/m", ALICE)
    finally:
        srv.stop()
    # The tokens file changes and the mirror restarts: the Xet tokens are still signed right, unexpired.
    for lines, own_status, org_status in (
        (f"{ALICE} alice read\norg acme alice:write\n", 401, 401),  # demoted to read-only
        (f"{ALICE} alice write\norg acme alice:read\n", 200, 403),  # demoted in the org
        (f"{BOB} bob write\n", 401, 401),  # removed
    ):
        tokens.write_text(lines)
        srv = start_mirror(tmp_path / "store", tokens_file=tokens)
        try:
            assert _req(srv, "POST", path, own, body)[0] == own_status, lines
            assert _req(srv, "POST", path, org_token, body)[0] == org_status, lines
        finally:
            srv.stop()


def _many_files(n: int, tag: bytes) -> tuple[str, bytes, bytes, list[bytes]]:
    """A xorb of `n` distinct small chunks and a shard of `n` one-chunk files: hash, xorb, shard, files."""
    chunks = [tag + b" %06d" % i for i in range(n)]
    hex_hash, body = _xorb(*chunks)
    shard = xf.SHARD_TAG + struct.pack("<QQ", 2, 0)
    for i, c in enumerate(chunks):
        shard += xf.file_hash([(xf.chunk_hash(c), len(c))]) + struct.pack("<II", 0, 1) + bytes(8)
        shard += xf.hash_from_hex(hex_hash) + struct.pack("<IIII", 0, len(c), i, i + 1)
    return hex_hash, body, shard + (xf.BOOKEND + bytes(16)) * 2, chunks


def _xorb_of_many_files(server: BackgroundServer, n: int, tag: bytes) -> tuple[str, bytes, list[bytes]]:
    """bob's write token for bob/public after uploading the xorb of `n` one-chunk files (the shard
    describing them, and the chunks, are returned for the test to send and check)."""
    hex_hash, body, shard, chunks = _many_files(n, tag)
    token = _xet_token(server, "bob/public", BOB)
    assert _req(server, "POST", f"/api/xet-cas/v1/xorbs/default/{hex_hash}", token, body)[0] == 200
    return token, shard, chunks


def _counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[object]:
    calls: list[object] = []
    real = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_a_shard_of_many_files_records_them_in_one_write(
    server: BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One write of the repo's upload grants per file made a shard quadratic: 3000 files took 17 s,
    # 30,000 (an image dataset) most of an hour. hf_xet puts every file of an upload in its shards.
    token, shard, chunks = _xorb_of_many_files(server, 400, b"file")
    writes = _counting(monkeypatch, uploads, "atomic_write_json")
    assert _req(server, "POST", "/api/xet-cas/v1/shards", token, shard) == (200, {"result": 1})
    assert len(writes) == 1
    ref = parse_repo_id("bob/public")
    store = server.state.store
    assert all(uploads.uploaded_by(store, ref, "bob", hashlib.sha256(c).hexdigest()) for c in chunks)


def test_a_commit_of_many_lfs_files_reads_the_grants_and_history_once(
    server: BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Per lfsFile line, the grants file was parsed again (and, for files the repo already holds, every
    # commit): a 6000-file commit took 26 s of a blocked event loop; now about 1 s.
    token, shard, chunks = _xorb_of_many_files(server, 200, b"commit")
    assert _req(server, "POST", "/api/xet-cas/v1/shards", token, shard)[0] == 200
    lines = [json.dumps({"key": "header", "value": {"summary": "many"}})]
    for i, c in enumerate(chunks):
        value = {"path": f"d/{i}.bin", "algo": "sha256", "oid": hashlib.sha256(c).hexdigest(), "size": len(c)}
        lines.append(json.dumps({"key": "lfsFile", "value": value}))
    ndjson = "\n".join(lines).encode()
    headers = {"Authorization": f"Bearer {BOB}", "Content-Type": "application/x-ndjson"}
    grant_reads = _counting(monkeypatch, uploads, "read_json")
    commit_reads = _counting(monkeypatch, Store, "get_commit")
    assert http_request(server.url, "POST", "/api/models/bob/public/commit/main", headers, ndjson)[0] == 200
    assert len(grant_reads) == 1
    # Grants gone (expired): relinking what the repo holds reads each of its commits once.
    (server.state.store.repo_dir(parse_repo_id("bob/public")) / "uploads.json").unlink()
    grant_reads.clear()
    commit_reads.clear()
    assert http_request(server.url, "POST", "/api/models/bob/public/commit/main", headers, ndjson)[0] == 200
    commits = len(list((server.state.store.repo_dir(parse_repo_id("bob/public")) / "commits").glob("*.json")))
    assert len(grant_reads) == 1 and len(commit_reads) <= commits + 2, (len(commit_reads), commits)


def test_prune_keeps_uploads_whose_commit_may_still_come(server: BackgroundServer) -> None:
    # A long upload session (hf upload_folder of many big files) commits at the end. prune evicted the
    # files uploaded first, so the commit failed (422), and for Xet the xorbs mapped onto them died
    # with them: the client's retry named them again and was refused until its cache was cleared.
    chunks = [os.urandom(5000), os.urandom(6000)]
    hex_hash, body = _xorb(*chunks)
    shard = _shard(hex_hash, [(11000, 0, 2)], chunks, RIGHT)
    token = _xet_token(server, "bob/public", BOB)
    assert _req(server, "POST", f"/api/xet-cas/v1/xorbs/default/{hex_hash}", token, body)[0] == 200
    assert _req(server, "POST", "/api/xet-cas/v1/shards", token, shard)[0] == 200
    store = server.state.store
    sha = hashlib.sha256(b"".join(chunks)).hexdigest()
    assert prune_store(store.root, 0, min_idle_s=0).published.blobs > 0 and store.has_blob(sha)
    assert _req(server, "POST", "/api/xet-cas/v1/shards", token, shard) == (200, {"result": 1})
    line = {"key": "lfsFile", "value": {"path": "late.bin", "algo": "sha256", "oid": sha, "size": 11000}}
    ndjson = (json.dumps({"key": "header", "value": {"summary": "late"}}) + "\n" + json.dumps(line)).encode()
    headers = {"Authorization": f"Bearer {BOB}", "Content-Type": "application/x-ndjson"}
    assert http_request(server.url, "POST", "/api/models/bob/public/commit/main", headers, ndjson)[0] == 200


def test_uploads_cut_off_mid_body_leave_nothing_and_the_log_names_no_token(
    server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    chunks = [os.urandom(40000) for _ in range(5)]
    hex_hash, body = _xorb(*chunks)
    shard = _shard(hex_hash, [(200000, 0, 5)], chunks, RIGHT)
    token = _xet_token(server, "bob/public", BOB)
    port = int(server.url.rsplit(":", 1)[1])
    for path, data in (
        (f"/api/xet-cas/v1/xorbs/default/{hex_hash}", body),
        ("/api/xet-cas/v1/shards", shard),
    ):
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data[: len(data) // 2])
    # The shard names a xorb that never arrived whole: refused with the reason in the log.
    assert _req(server, "POST", "/api/xet-cas/v1/shards", token, shard)[0] == 400
    deadline = time.monotonic() + 5
    while "has not uploaded" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    root = server.state.store.root
    assert not list((root / "xet" / "xorbs").rglob(f"{hex_hash}*")) and not store_leftovers(root)
    assert "has not uploaded" in caplog.text
    for secret in (token, token[-16:], BOB, ALICE):
        assert secret not in caplog.text


def test_mangled_xorbs_and_shards_are_4xx_never_500(server: BackgroundServer) -> None:
    rng = random.Random(20)
    chunks = [rng.randbytes(rng.randint(1, 2000)) for _ in range(5)]
    hex_hash, body = _xorb(*chunks)
    shard = _shard(hex_hash, [(sum(map(len, chunks[:3])), 0, 3), (len(chunks[4]), 4, 5)], chunks, RIGHT)
    token = _xet_token(server, "bob/public", BOB)
    xorb_path = f"/api/xet-cas/v1/xorbs/default/{hex_hash}"
    assert _req(server, "POST", xorb_path, token, body)[0] == 200
    seen = set()
    for n in range(120):
        data = bytearray(shard if n % 2 else body)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(data))
            if rng.random() < 0.6:
                data[i] = rng.randrange(256)
            elif rng.random() < 0.5:
                del data[i : i + rng.randint(1, 50)]
            else:
                struct.pack_into("<I", data, min(i, len(data) - 4), rng.choice([0, 1, 2**31, 2**32 - 1]))
        status = http_request(
            server.url, "POST", "/api/xet-cas/v1/shards" if n % 2 else xorb_path,
            {"Authorization": f"Bearer {token}"}, bytes(data),
        )[0]  # fmt: skip
        assert status in (200, 400), (n, status)
        seen.add(status)
    assert seen == {200, 400} and store_leftovers(server.state.store.root) == []


def test_xet_work_cannot_take_the_threads_downloads_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rebuilding big files takes minutes. In the loop's default executor, shards (one per upload slot)
    # could hold every thread, and a download above 256 KiB, which opens its file there, waited.
    slots = min(32, (os.cpu_count() or 1) + 4) + 1  # one more than the default executor has threads
    release, entered = threading.Event(), threading.Semaphore(0)
    register = xet_routes.register_shard

    def slow(*args: Any, **kwargs: Any) -> Any:
        entered.release()
        release.wait(20)
        return register(*args, **kwargs)

    monkeypatch.setattr(xet_routes, "register_shard", slow)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "big.bin").write_bytes(os.urandom(300_000))
    import_repo(tmp_path / "store", tmp_path / "src", "org/pub")
    (tmp_path / "tokens").write_text(f"{BOB} bob write\n")
    srv = start_mirror(tmp_path / "store", tokens_file=tmp_path / "tokens", max_uploads=slots)
    posts: list[threading.Thread] = []
    try:
        assert _req(srv, "POST", "/api/repos/create", BOB, b'{"name": "m"}')[0] == 200
        token = _xet_token(srv, "bob/m", BOB)
        hex_hash, body = _xorb(b"slow")
        assert _req(srv, "POST", f"/api/xet-cas/v1/xorbs/default/{hex_hash}", token, body)[0] == 200
        shard = _shard(hex_hash, [(4, 0, 1)], [b"slow"], RIGHT)
        status, headers, _ = http_request(srv.url, "GET", "/org/pub/resolve/main/big.bin")
        assert status == 307  # to the commit: the download below is one request
        for _ in range(slots):
            posts.append(
                threading.Thread(target=_req, args=(srv, "POST", "/api/xet-cas/v1/shards", token, shard))
            )
            posts[-1].start()
        deadline = time.monotonic() + 10
        busy = sum(entered.acquire(timeout=max(0.0, deadline - time.monotonic())) for _ in range(slots - 1))
        assert busy == slots - 1  # Xet work in (at least) as many threads as the default executor has
        got: list[int] = []
        download = threading.Thread(
            target=lambda: got.append(len(http_request(srv.url, "GET", headers["location"])[2]))
        )
        download.start()
        download.join(5)
        assert got == [300_000]
    finally:
        release.set()
        for t in posts:
            t.join()
        srv.stop()


def test_linking_one_big_object_on_many_lines_reads_it_once(
    server: BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each lfsFile line read the whole object back for its git id: 1000 lines naming one 50 GB upload
    # (a 200 kB commit body) meant reading 50 TB. The git id of a content is computed once per commit,
    # and not again for content the branch already has.
    data = os.urandom(300_000)
    hex_hash, body = _xorb(data[:100_000], data[100_000:200_000], data[200_000:])
    token = _xet_token(server, "bob/public", BOB)
    assert _req(server, "POST", f"/api/xet-cas/v1/xorbs/default/{hex_hash}", token, body)[0] == 200
    chunks = [data[:100_000], data[100_000:200_000], data[200_000:]]
    assert (
        _req(
            server,
            "POST",
            "/api/xet-cas/v1/shards",
            token,
            _shard(hex_hash, [(300_000, 0, 3)], chunks, RIGHT),
        )[0]
        == 200
    )
    sha = hashlib.sha256(data).hexdigest()
    reads = _counting(monkeypatch, routes_write, "make_entry")
    headers = {"Authorization": f"Bearer {BOB}", "Content-Type": "application/x-ndjson"}

    def commit(paths: list[str]) -> dict[str, Any]:
        lines = [json.dumps({"key": "header", "value": {"summary": "same bytes"}})]
        for p in paths:
            value = {"path": p, "algo": "sha256", "oid": sha, "size": len(data)}
            lines.append(json.dumps({"key": "lfsFile", "value": value}))
        status, _, answer = http_request(
            server.url, "POST", "/api/models/bob/public/commit/main", headers, "\n".join(lines).encode()
        )
        assert status == 200, answer
        oid = json.loads(answer)["commitOid"]
        commit = server.state.store.get_commit(parse_repo_id("bob/public"), oid)
        assert commit is not None
        return dict(commit["files"])

    first = commit([f"copies/{i}.bin" for i in range(50)])
    assert len(reads) == 1
    again = commit(["more/x.bin"])
    assert len(reads) == 1  # the branch has it: its git id is known
    entries = {json.dumps(first[f"copies/{i}.bin"], sort_keys=True) for i in range(50)}
    assert entries == {json.dumps(again["more/x.bin"], sort_keys=True)}
    truth = store_module.make_entry("x.bin", sha, len(data), server.state.store.blob_path(sha), lfs=True)
    assert again["more/x.bin"] == {**again["more/x.bin"], **truth}
