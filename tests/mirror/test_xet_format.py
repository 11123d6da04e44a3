"""mirror/xet_format.py on bytes the real hf_xet client produced (captured from a live upload to a
stand-in Hub in this test), on the Xet specification's reference values, and on malformed input."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import lz4.frame
import pytest
from aiohttp import web
from mirror_server import run_client

from gator_setup.mirror import xet_format as xf

pytest.importorskip("hf_xet")


@dataclass
class Captured:
    xorbs: dict[str, bytes] = field(default_factory=dict)  # hash in the URL -> body
    shards: list[bytes] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def _stand_in_hub(cap: Captured, base: list[str]) -> web.Application:
    """Answers preupload with `lfs`, hands out a Xet token, keeps every xorb and shard body."""

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        path = request.rel_url.path
        cap.requests.append(f"{request.method} {path}")
        if "/xet-write-token/" in path:
            cas = base[0] + "/cas"
            exp = 4_000_000_000
            headers = {"X-Xet-Cas-Url": cas, "X-Xet-Access-Token": "t0k", "X-Xet-Token-Expiration": str(exp)}
            return web.json_response({"accessToken": "t0k", "exp": exp, "casUrl": cas}, headers=headers)
        if path.endswith("/preupload/main"):
            files = json.loads(body)["files"]
            return web.json_response(
                {"files": [{"path": f["path"], "uploadMode": "lfs", "shouldIgnore": False} for f in files]}
            )
        if path.startswith("/cas/v1/xorbs/default/"):
            cap.xorbs[path.rsplit("/", 1)[1]] = body
            return web.json_response({"was_inserted": True})
        if path == "/cas/v1/shards":
            cap.shards.append(body)
            return web.json_response({"result": 1})
        if "/commit/" in path:
            sha = "0" * 40
            return web.json_response({"commitUrl": f"{base[0]}/ns/repo/commit/{sha}", "commitOid": sha})
        return web.json_response({"error": "Not found."}, status=404)

    app = web.Application(client_max_size=256 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@contextmanager
def _serving(cap: Captured) -> Iterator[str]:
    loop = asyncio.new_event_loop()
    base: list[str] = []
    runner = web.AppRunner(_stand_in_hub(cap, base), access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    base.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield base[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    rng = random.Random(20)
    return {
        "random.bin": rng.randbytes(300_000),  # incompressible: stored as is
        "text.bin": b"".join(b"line %d of some text\n" % (i % 97) for i in range(12_000)),  # LZ4
        "ints.bin": b"".join(struct.pack("<I", i * 7) for i in range(60_000)),  # byte grouping + LZ4
        "small.bin": b"\x00tiny",
    }


@pytest.fixture(scope="module")
def captured(files: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> Captured:
    d = tmp_path_factory.mktemp("xetcap")
    for name, data in files.items():
        (d / name).write_bytes(data)
    ops = ", ".join(f"CommitOperationAdd({n!r}, {str(d / n)!r})" for n in files)
    code = f"""
from huggingface_hub import CommitOperationAdd, HfApi
HfApi(token="capture-token").create_commit("ns/repo", operations=[{ops}], commit_message="m")
"""
    cap = Captured()
    with _serving(cap) as url:
        run_client(code, url, timeout=120)
    assert cap.xorbs and cap.shards, cap.requests
    return cap


def test_xorbs_from_the_real_client_hash_to_their_names(captured: Captured) -> None:
    schemes = set()
    for name, body in captured.xorbs.items():
        parsed = xf.parse_xorb(body)
        assert xf.hash_hex(parsed.hash) == name
        schemes |= {r.scheme for r in parsed.refs}
    assert {0, 1} <= schemes, schemes  # stored as is and LZ4 frames both occur


def test_shard_from_the_real_client_rebuilds_every_file(captured: Captured, files: dict[str, bytes]) -> None:
    shard = xf.parse_shard(captured.shards[-1])
    by_sha = {hashlib.sha256(d).hexdigest(): d for d in files.values()}
    assert {f.sha256 for f in shard.files} == set(by_sha)
    assert {xf.hash_hex(x.hash) for x in shard.xorbs} == set(captured.xorbs)
    for f in shard.files:
        data, leaves = b"", []
        for t in f.terms:
            body = captured.xorbs[xf.hash_hex(t.xorb)]
            refs = xf.chunk_refs(body)
            chunks = [xf.chunk_data(body, refs[i], i) for i in range(t.start, t.end)]
            assert sum(map(len, chunks)) == t.size
            assert t.verification == xf.verification_hash([xf.chunk_hash(c) for c in chunks])
            leaves += [(xf.chunk_hash(c), len(c)) for c in chunks]
            data += b"".join(chunks)
        assert data == by_sha[f.sha256 or ""]
        assert f.size == len(data)
        assert xf.file_hash(leaves) == f.hash


def test_hash_strings_follow_the_spec_example() -> None:
    raw = bytes(range(32))
    # (spec/api.md prints this example with the byte 0x10 missing: 62 digits)
    text = "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
    assert xf.hash_hex(raw) == text
    assert xf.hash_from_hex(text) == raw
    for bad in ("", "g" * 64, "A" * 64, "0" * 63):
        with pytest.raises(xf.XetFormatError):
            xf.hash_from_hex(bad)


# xet-core merklehash/src/aggregated_hashes.rs `test_correctness`: (leaves, xorb hash, file hash).
H1 = "cfc5d07f6f03c29bbf424132963fe08d19a37d5757aaf520bf08119f05cd56d6"
H2 = "c3e67584b5c4fc2a89837ec39e40f2c8a6bb0b2987ac94cd4b31e5fbdd210a72"
H3 = "0d2beb91b9196929a5ddec9f6e306924ddf4a24268e3e59fd8464738d525af37"
H4 = "adf8773496a9b7319b2e50dc98093f344053b17d8ad37100b9c07d9805988784"
MERKLE_REFERENCE = [
    ([], "0" * 64, "0" * 64),
    (
        [(H1, 100)],
        H1,
        "8e16257caa3fe079d484d872a8975264b2ff683b0d6db9028cc7c0f968a45661",
    ),
    (
        [(H1, 100), (H2, 200), (H3, 300)],
        "71ec1275fca074724e2dd666921b3277c7cee603e4d025bcab2d4050015be2bc",
        "54e55dccc6653c612bdb5576c5d3cb34bb31bc4e100248abccf4c908b3ef7715",
    ),
    (
        [(H1, 100)] * 4,
        "89f2ada89ff8c96763c6b25010e6dd76a4c05b1466207633ea559acf2093211b",
        "2cdba690d0e09563596e0cda626d43eb4c96ef1e994fe72d9b2f5a83cfcd36dd",
    ),
    (
        [(H1, 100), (H2, 200), (H1, 100), (H2, 200), (H3, 300), (H4, 400)],
        "52c826f99507aa05d0b45e9837fa1709e0485425cfbcb1e80db3905cf98b3ee9",
        "91d21684db364c8883ab8209fa5eb2e781cf07f37e1fa43e731c30839afe422f",
    ),
]


@pytest.mark.parametrize(("leaves", "xorb", "file"), MERKLE_REFERENCE)
def test_merkle_hashes_match_xet_core_reference(leaves: list[tuple[str, int]], xorb: str, file: str) -> None:
    nodes = [(xf.hash_from_hex(h), n) for h, n in leaves]
    assert xf.hash_hex(xf.xorb_hash(nodes)) == xorb
    assert xf.hash_hex(xf.file_hash(nodes)) == file


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1001])
def test_byte_grouping_4_regroups_exactly(n: int) -> None:
    data = bytes(random.Random(n).randrange(256) for _ in range(n))
    grouped = xf.group_bg4(data)
    # Byte i of every 4 in group i; the first n % 4 groups hold one byte more.
    assert grouped[: len(data[0::4])] == data[0::4]
    assert xf.regroup_bg4(grouped) == data


def _chunk(data: bytes, scheme: int) -> bytes:
    body = data
    if scheme == 1:
        body = lz4.frame.compress(data)
    elif scheme == 2:
        body = lz4.frame.compress(xf.group_bg4(data))
    header = bytes([0]) + len(body).to_bytes(3, "little") + bytes([scheme]) + len(data).to_bytes(3, "little")
    return header + body


def test_each_compression_scheme_decodes() -> None:
    data = b"".join(struct.pack("<f", i / 3) for i in range(5000)) + b"xyz"
    xorb = _chunk(data, 0) + _chunk(data, 1) + _chunk(data, 2)
    parsed = xf.parse_xorb(xorb)
    assert [r.scheme for r in parsed.refs] == [0, 1, 2]
    assert all(xf.chunk_data(xorb, r) == data for r in parsed.refs)
    assert parsed.chunks == [(xf.chunk_hash(data), len(data))] * 3


@pytest.mark.parametrize(
    ("xorb", "reason"),
    [
        (b"", "Empty"),
        (_chunk(b"abc" * 100, 1)[:-3], "truncated in the data"),
        (_chunk(b"abc", 0) + b"\x00\x01", "truncated in the header"),
        (b"\x01" + _chunk(b"abc", 0)[1:], "header version"),
        (_chunk(b"abc", 0)[:4] + b"\x07" + _chunk(b"abc", 0)[5:], "compression scheme"),
        (b"\x00\x04\x00\x00\x01\x03\x00\x00" + b"\x04\x22\x4d\x18", "bad LZ4|does not decode"),
        (_chunk(b"a" * 1000, 1)[:5] + (999).to_bytes(3, "little") + _chunk(b"a" * 1000, 1)[8:], "decode"),
        (b"\x00\x03\x00\x00\x00\x04\x00\x00abc", "invalid sizes"),
    ],
)
def test_malformed_xorbs_are_refused_with_a_reason(xorb: bytes, reason: str) -> None:
    with pytest.raises(xf.XetFormatError, match=reason):
        xf.parse_xorb(xorb)


def test_malformed_shards_are_refused_with_a_reason(captured: Captured) -> None:
    good = captured.shards[-1]
    cases = {
        b"": "bad header tag",
        b"x" * 48 + good[48:]: "bad header tag",
        good[:32] + struct.pack("<QQ", 3, 0) + good[48:]: "version",
        good[:32] + struct.pack("<QQ", 2, 10**6) + good[48:]: "footer",
        good[:100]: "truncated",
        good[: len(good) - 48]: "truncated in a xorb header",  # no CAS bookend
    }
    for data, reason in cases.items():
        with pytest.raises(xf.XetFormatError, match=reason):
            xf.parse_shard(data)
