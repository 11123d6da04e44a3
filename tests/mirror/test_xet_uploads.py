"""Xet uploads through the mirror (issue 20): the real client (huggingface_hub with hf_xet) uploads and
downloads back, and the attacks: write tokens for others' repos, forged or expired Xet tokens, bad
xorbs, shards built on another writer's xorbs, commits linking content their writer never uploaded."""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lz4.frame
import pytest
from mirror_server import SERVE_ONE_WORKER, http_request, run_client, start_mirror

from gator_setup.mirror import xet_format as xf
from gator_setup.mirror import xet_token
from gator_setup.mirror.ids import parse_repo_id
from gator_setup.mirror.server import BackgroundServer

pytest.importorskip("hf_xet")

ALICE = "hf_alice_write_0001"
BOB = "hf_bob_write_000002"
READER = "hf_reader_read_0003"


def req(
    url: str, method: str, path: str, token: str | None = None, body: bytes | None = None, **extra: str
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http_request(url, method, path, {**headers, **extra}, body)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    d = tmp_path_factory.mktemp("xet")
    (d / "tokens").write_text(f"{ALICE} alice write\n{BOB} bob write\n{READER} reader read\n")
    srv = start_mirror(d / "store", tokens_file=d / "tokens")  # the default: preupload answers `lfs`
    for name, token in (("alice/models", ALICE), ("alice/private", ALICE), ("bob/public", BOB)):
        body = json.dumps({"name": name.split("/")[1], "private": name.endswith("private")}).encode()
        assert req(srv.url, "POST", "/api/repos/create", token, body)[0] == 200
    try:
        yield srv
    finally:
        srv.stop()


def xet_write_token(server: BackgroundServer, repo: str, token: str) -> str:
    status, _, body = req(server.url, "GET", f"/api/models/{repo}/xet-write-token/main", token)
    assert status == 200, body
    return str(json.loads(body)["accessToken"])


def stats(server: BackgroundServer) -> tuple[int, int]:
    s = server.state.stats
    return s.get("xet_xorbs", 0), s.get("xet_shards", 0)


UPLOAD_AND_READ_BACK = """
import hashlib, sys
from huggingface_hub import HfApi, hf_hub_download
repo, path = sys.argv[1], sys.argv[2]
HfApi().upload_file(path_or_fileobj=path, path_in_repo="weights.bin", repo_id=repo)
info = HfApi().get_paths_info(repo, ["weights.bin"])[0]
got = open(hf_hub_download(repo, "weights.bin"), "rb").read()
print(hashlib.sha256(got).hexdigest(), info.lfs.sha256 if info.lfs else None)
"""


def _upload(server: BackgroundServer, repo: str, path: Path, token: str, hf_home: str) -> list[str]:
    code = UPLOAD_AND_READ_BACK.replace("sys.argv[1], sys.argv[2]", f"{repo!r}, {str(path)!r}")
    proc = run_client(code, server.url, token=token, timeout=300, env={"HF_HOME": hf_home})
    return proc.stdout.split()[-2:]


def test_big_binary_goes_through_xet_and_downloads_identical(
    server: BackgroundServer, tmp_path: Path
) -> None:
    data = os.urandom(10 * 1024 * 1024 + 12345)  # over the Hub's 10 MB rule: `lfs`
    (tmp_path / "big.bin").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    home = str(tmp_path / "hf-home")
    before = stats(server)
    assert _upload(server, "alice/private", tmp_path / "big.bin", ALICE, home) == [sha, sha]
    after = stats(server)
    assert after[0] > before[0] and after[1] > before[1]  # the bytes came as xorbs and a shard
    # Once rebuilt, the xorbs' bytes are dropped: Xet uploads cost the blobs' disk space, no more.
    xet_bytes = sum(p.stat().st_size for p in (server.state.store.root / "xet").rglob("*") if p.is_file())
    assert xet_bytes < len(data) // 50, xet_bytes
    # Same machine, same file, another repo of the same writer: hf_xet sends no xorb, only a shard
    # naming the xorbs of the first upload (its local dedup); they are alice's, so this works.
    assert _upload(server, "alice/models", tmp_path / "big.bin", ALICE, home) == [sha, sha]
    again = stats(server)
    assert again[0] == after[0] and again[1] > after[1]


def test_a_shard_may_not_use_another_writers_xorbs_from_a_shared_cache(
    server: BackgroundServer, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    (tmp_path / "w.safetensors").write_bytes(data)
    home = str(tmp_path / "shared-hf-home")
    sha = hashlib.sha256(data).hexdigest()
    assert _upload(server, "alice/models", tmp_path / "w.safetensors", ALICE, home) == [sha, sha]
    # bob on the same machine (same Xet cache): his shard names alice's xorbs, which he never sent.
    # (hf_xet shows the status, not the mirror's message; the mirror's log has the reason.)
    with pytest.raises(AssertionError, match=r"400 Bad Request.*xet-cas/v1/shards"):
        _upload(server, "bob/public", tmp_path / "w.safetensors", BOB, home)
    # With his own cache, his client sends the bytes itself and the upload goes through.
    assert _upload(server, "bob/public", tmp_path / "w.safetensors", BOB, str(tmp_path / "bob")) == [sha, sha]


def test_write_token_only_for_writers_of_the_repo(server: BackgroundServer) -> None:
    path = "/api/models/{}/xet-write-token/main"
    assert req(server.url, "GET", path.format("bob/public"), ALICE)[0] == 403
    assert req(server.url, "GET", path.format("alice/private"), BOB)[0] == 403
    assert req(server.url, "GET", path.format("alice/models"), READER)[0] == 403
    assert req(server.url, "GET", path.format("alice/models"))[0] == 401
    assert req(server.url, "GET", path.format("alice/missing"), ALICE)[0] == 404
    assert req(server.url, "GET", path.format("alice/models") + "?create_pr=1", ALICE)[0] == 400
    status, headers, body = req(server.url, "GET", path.format("alice/private"), ALICE)
    info = json.loads(body)
    assert status == 200 and headers["cache-control"] == "no-store"
    assert info["casUrl"] == server.url + "/api/xet-cas" == headers["x-xet-cas-url"]
    assert info["accessToken"] == headers["x-xet-access-token"] and ALICE not in info["accessToken"]
    assert 0 < info["exp"] - time.time() <= xet_token.TOKEN_TTL


def _xorb(*chunks: bytes) -> tuple[str, bytes]:
    body = b""
    for data in chunks:
        packed = lz4.frame.compress(data)
        body += bytes([0]) + len(packed).to_bytes(3, "little") + b"\x01" + len(data).to_bytes(3, "little")
        body += packed
    leaves = [(xf.chunk_hash(c), len(c)) for c in chunks]
    return xf.hash_hex(xf.xorb_hash(leaves)), body


def _shard(xorb_hex: str, chunks: list[bytes], *, sha: str | None = None, end: int | None = None) -> bytes:
    """A one-file shard whose file is chunks [0, end) of one xorb (as hf_xet lays shards out)."""
    end = len(chunks) if end is None else end
    leaves = [(xf.chunk_hash(c), len(c)) for c in chunks[:end]]
    sha = sha or hashlib.sha256(b"".join(chunks[:end])).hexdigest()
    out = xf.SHARD_TAG + struct.pack("<QQ", 2, 0)
    out += xf.file_hash(leaves) + struct.pack("<II", xf.FLAG_VERIFICATION | xf.FLAG_METADATA, 1) + bytes(8)
    size = sum(len(c) for c in chunks[:end])
    out += xf.hash_from_hex(xorb_hex) + struct.pack("<IIII", 0, size, 0, end)
    out += xf.verification_hash([h for h, _ in leaves]) + bytes(16)
    out += xf.hash_from_hex(sha) + bytes(16)
    return out + (xf.BOOKEND + bytes(16)) * 2  # end of files; no new-xorb listing


def _cas(
    server: BackgroundServer, path: str, token: str | None, body: bytes | None = None
) -> tuple[int, Any]:
    method = "POST" if body is not None else "GET"
    status, _, data = req(server.url, method, "/api/xet-cas" + path, token, body)
    return status, json.loads(data)


def _leftovers(server: BackgroundServer) -> list[str]:
    root = server.state.store.root
    tmp = [p.name for p in (root / "tmp").iterdir() if p.is_file()]
    return tmp + [p.name for p in (root / "xet").rglob(".tmp-*")]


def test_cas_needs_a_valid_xet_token(server: BackgroundServer) -> None:
    good = xet_write_token(server, "alice/models", ALICE)
    hex_hash, body = _xorb(b"token check")
    store = server.state.store
    payload, mac = good[len(xet_token.PREFIX) :].split(".")
    forged = xet_token.PREFIX + payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + mac
    expired, _ = xet_token.mint(store, "alice", parse_repo_id("alice/models"), now=time.time() - 7200)
    stranger, _ = xet_token.mint(store, "mallory", parse_repo_id("alice/models"))  # no such user
    for token in (None, ALICE, forged, expired, stranger, good + "x"):
        assert _cas(server, f"/v1/xorbs/default/{hex_hash}", token, body)[0] == 401, token
    # The token's writer, repo and expiry are signed: any change above is a 401; the real one works.
    assert _cas(server, f"/v1/xorbs/default/{hex_hash}", good, body) == (200, {"was_inserted": True})
    assert _cas(server, f"/v1/xorbs/default/{hex_hash}", good, body) == (200, {"was_inserted": False})
    # Global dedup is never answered, even for a chunk that is stored.
    chunk = xf.hash_hex(xf.chunk_hash(b"token check"))
    assert _cas(server, f"/v1/chunks/default-merkledb/{chunk}", good)[0] == 404


def test_bad_xorbs_are_refused_and_leave_nothing(server: BackgroundServer) -> None:
    token = xet_write_token(server, "alice/models", ALICE)
    hex_hash, body = _xorb(b"a" * 5000, b"b" * 7000)
    other_hash, _ = _xorb(b"something else")
    xorbs = server.state.store.root / "xet" / "xorbs"
    for path, data in (
        (f"/v1/xorbs/default/{other_hash}", body),  # not the hash of the body
        (f"/v1/xorbs/default/{hex_hash}", body[:-5]),  # truncated
        (f"/v1/xorbs/default/{hex_hash}", body[:4] + b"\x09" + body[5:]),  # unknown compression
        (f"/v1/xorbs/default/{hex_hash}", body[:8] + b"\x00" * (len(body) - 8)),  # bad LZ4 frame
        (f"/v1/xorbs/other/{hex_hash}", body),
        ("/v1/xorbs/default/XYZ", body),
    ):
        status, answer = _cas(server, path, token, data)
        assert status == 400 and answer["error"], (path, answer)
        assert not (xorbs / other_hash[:2] / other_hash).exists()
        assert not (xorbs / hex_hash[:2] / hex_hash).exists()
    assert _leftovers(server) == []


def test_shards_are_checked_before_anything_is_published(server: BackgroundServer) -> None:
    chunks = [os.urandom(3000), os.urandom(4000)]
    hex_hash, body = _xorb(*chunks)
    sha = hashlib.sha256(b"".join(chunks)).hexdigest()
    store = server.state.store
    alice = xet_write_token(server, "alice/models", ALICE)
    bob = xet_write_token(server, "bob/public", BOB)
    # Before its xorb is uploaded, a shard is refused (no global dedup, no guessing).
    status, answer = _cas(server, "/v1/shards", alice, _shard(hex_hash, chunks))
    assert status == 400 and "has not uploaded" in answer["error"]
    assert _cas(server, f"/v1/xorbs/default/{hex_hash}", alice, body)[0] == 200
    bad = {
        "wrong sha256": _shard(hex_hash, chunks, sha="ab" * 32),
        "chunks past the xorb": _shard(hex_hash, [*chunks, b"x"]),
        "truncated": _shard(hex_hash, chunks)[:-60],
        "bad file hash": _shard(hex_hash, chunks)[:48] + b"\x00" * 32 + _shard(hex_hash, chunks)[80:],
    }
    for what, shard in bad.items():
        status, answer = _cas(server, "/v1/shards", alice, shard)
        assert status == 400 and answer["error"], what
        assert not store.has_blob(sha), what
    # bob knows the xorb hash but never sent its bytes: his shard is refused, nothing is recorded.
    status, answer = _cas(server, "/v1/shards", bob, _shard(hex_hash, chunks))
    assert status == 400 and "bob has not uploaded" in answer["error"]
    assert not store.has_blob(sha)
    assert _leftovers(server) == []
    # A file made of the first chunk only: the xorb's bytes stay (its second chunk is in no blob yet).
    xorb_file = store.root / "xet" / "xorbs" / hex_hash[:2] / hex_hash
    first = hashlib.sha256(chunks[0]).hexdigest()
    assert _cas(server, "/v1/shards", alice, _shard(hex_hash, chunks, end=1)) == (200, {"result": 1})
    assert store.blob_path(first).read_bytes() == chunks[0] and xorb_file.is_file()
    # alice's shard registers the file: rebuilt, sha256-checked, recorded as her upload to alice/models.
    assert _cas(server, "/v1/shards", alice, _shard(hex_hash, chunks)) == (200, {"result": 1})
    assert store.blob_path(sha).read_bytes() == b"".join(chunks)
    # Every chunk now lies in a blob: the xorb's bytes are dropped, its map rebuilds it from the blobs.
    assert not xorb_file.exists() and xorb_file.with_suffix(".map").is_file()
    assert _cas(server, "/v1/shards", alice, _shard(hex_hash, chunks)) == (200, {"result": 1})
    # bob's commit cannot link alice's content by its sha256; alice's can.
    line = {"key": "lfsFile", "value": {"path": "f.bin", "algo": "sha256", "oid": sha, "size": 7000}}
    ndjson = (json.dumps({"key": "header", "value": {"summary": "x"}}) + "\n" + json.dumps(line)).encode()
    ctype = {"Content-Type": "application/x-ndjson"}
    assert req(server.url, "POST", "/api/models/bob/public/commit/main", BOB, ndjson, **ctype)[0] == 422
    assert req(server.url, "POST", "/api/models/alice/private/commit/main", ALICE, ndjson, **ctype)[0] == 422
    commit = "/api/models/alice/models/commit/main"
    status, _, answer = req(server.url, "POST", commit, ALICE, ndjson, **ctype)
    assert status == 200
    status, _, got = req(server.url, "GET", f"/alice/models/resolve/{json.loads(answer)['commitOid']}/f.bin")
    assert status == 200 and got == b"".join(chunks)
    # A blob the map needs is gone (say, removed by hand): the xorb is no longer usable, cleanly.
    store.blob_path(sha).unlink()
    status, answer = _cas(server, "/v1/shards", alice, _shard(hex_hash, chunks))
    assert status == 400 and "has not uploaded" in answer["error"]


def test_tokens_never_reach_the_log(server: BackgroundServer) -> None:
    from gator_setup.mirror.logs import redact

    token = xet_write_token(server, "alice/models", ALICE)
    assert token not in redact(f"GET /x Authorization: Bearer {token}") and token not in redact(f"t={token}")
    assert token not in redact(f"token {token} here")


def test_gator_mirror_serve_with_two_workers_takes_push_to_hub_from_the_default_client(
    tmp_path: Path,
) -> None:
    pytest.importorskip("datasets")
    (tmp_path / "tokens").write_text(f"{ALICE} alice write\n")
    cmd = [*SERVE_ONE_WORKER[:-1], "2", "--storage", str(tmp_path / "store"), "--port", "0"]
    cmd += ["--tokens", str(tmp_path / "tokens")]
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        while not any("worker processes on port" in ln for ln in lines):
            line = proc.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        url = "http://127.0.0.1:" + re.findall(r"on port (\d+)", lines[-1])[0]
        code = """
import json
from datasets import Dataset, load_dataset
Dataset.from_dict({"x": list(range(1000)), "y": ["v%d" % i for i in range(1000)]}).push_to_hub("alice/ds")
print(json.dumps(load_dataset("alice/ds", split="train").to_dict()["y"][-2:]))
"""
        out = run_client(code, url, token=ALICE, timeout=300).stdout.strip().splitlines()[-1]
        assert json.loads(out) == ["v998", "v999"]
    finally:
        proc.terminate()
        rest = proc.communicate(timeout=20)[1]
    log = "".join(lines) + rest
    assert "xet-cas/v1/xorbs" in log and "xet-cas/v1/shards" in log  # the upload went through Xet
    assert ALICE not in log and not re.search(r"gxet_(?!<redacted>)", log)  # no token in the log


@pytest.mark.parametrize(("lfs_uploads", "mode"), [(True, "lfs"), (False, "regular")])
def test_preupload_answers_lfs_by_default_and_regular_with_no_lfs_uploads(
    tmp_path: Path, lfs_uploads: bool, mode: str
) -> None:
    opts = {} if lfs_uploads else {"lfs_uploads": False}  # the default, or --no-lfs-uploads
    srv = start_mirror(tmp_path / "store", **opts)
    try:
        assert req(srv.url, "POST", "/api/repos/create", "t0ken-dev", b'{"name": "dev/m"}')[0] == 200
        files = [{"path": "model.safetensors", "size": 100, "sample": ""}]
        body = json.dumps({"files": files}).encode()
        status, _, answer = req(srv.url, "POST", "/api/models/dev/m/preupload/main", "t0ken-dev", body)
        assert status == 200 and json.loads(answer)["files"][0]["uploadMode"] == mode
    finally:
        srv.stop()
