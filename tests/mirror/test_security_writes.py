"""Security: what writers can do with the shared store and malformed input (issue 17 items 2, 3, 8).

The attacker has a write token of their own namespace and knows the sha256 of someone else's private
file (the Hub's tree listings show it, even for gated files); or sends malformed bodies.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import json
import os
import random
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from mirror_server import SERVE_ONE_WORKER, run_client, start_mirror

from gator_setup.mirror.ndjson import commit_lines
from gator_setup.mirror.store import Store

ALICE = "hf_alice_write_0001"
BOB = "hf_bob_write_000002"
TOKENS = f"{ALICE} alice write\n{BOB} bob write\nhf_carol_read_00003 carol read\n"
SECRET = os.urandom(300_000)  # alice's private weights
SECRET_SHA = hashlib.sha256(SECRET).hexdigest()


class Srv:
    def __init__(self, url: str, store: Path) -> None:
        self.url, self.store = url, store

    def req(
        self, method: str, path: str, body: Any = None, token: str | None = None, ctype: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", urlsplit(self.url).port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if ctype:
            headers["Content-Type"] = ctype
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def commit(self, repo: str, lines: list[dict[str, Any]], token: str) -> tuple[int, dict[str, str], bytes]:
        body = "\n".join(json.dumps(x) for x in [{"key": "header", "value": {"summary": "x"}}, *lines])
        return self.req(
            "POST", f"/api/models/{repo}/commit/main", body.encode(), token, "application/x-ndjson"
        )


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srv]:
    d = tmp_path_factory.mktemp("sec")
    (d / "tokens").write_text(TOKENS)
    server = start_mirror(d / "store", tokens_file=d / "tokens")
    s = Srv(server.url, d / "store")
    for repo, token in (("alice/private", ALICE), ("bob/public", BOB)):
        name = repo.split("/")[1]
        st, _, _ = s.req("POST", "/api/repos/create", {"name": name, "private": name == "private"}, token)
        assert st == 200
    weights = base64.b64encode(SECRET).decode()
    st, _, body = s.commit(
        "alice/private", [{"key": "file", "value": {"path": "w.bin", "content": weights}}], ALICE
    )
    assert st == 200, body
    try:
        yield s
    finally:
        server.stop()


def _lfs(path: str, oid: str, size: Any) -> dict[str, Any]:
    return {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}}


def test_a_known_sha256_does_not_let_another_writer_publish_the_blob(srv: Srv) -> None:
    stolen = srv.commit("bob/public", [_lfs("stolen.bin", SECRET_SHA, len(SECRET))], BOB)
    never = srv.commit("bob/public", [_lfs("stolen.bin", "e" * 64, len(SECRET))], BOB)
    # Refused, and the same answer as for content that is stored nowhere: the store is no oracle.
    assert stolen[0] == never[0] == 422
    assert stolen[2] == never[2] and stolen[1]["x-error-code"] == never[1]["x-error-code"]
    assert srv.req("GET", "/bob/public/resolve/main/stolen.bin", token=BOB)[0] == 404
    # Through the real client too.
    code = f"""
from huggingface_hub import HfApi, CommitOperationAdd
from huggingface_hub.lfs import UploadInfo
from huggingface_hub.errors import HfHubHTTPError
api = HfApi()
# What a modified client sends: an lfsFile line naming alice's content, claimed as already uploaded.
op = CommitOperationAdd(path_in_repo="x.bin", path_or_fileobj=b"decoy")
op.upload_info = UploadInfo(sha256=bytes.fromhex("{SECRET_SHA}"), size={len(SECRET)}, sample=b"")
op._upload_mode = "lfs"
op._is_uploaded = True
try:
    api.create_commit("bob/public", operations=[op], commit_message="steal")
    print("LINKED")
except HfHubHTTPError as e:
    print(e.response.status_code)
"""
    assert run_client(code, srv.url, token=BOB).stdout.split()[-1] == "422"


def test_the_owner_may_link_what_the_repo_already_holds_with_its_true_size(srv: Srv) -> None:
    st, _, body = srv.commit("alice/private", [_lfs("copy.bin", SECRET_SHA, len(SECRET))], ALICE)
    assert st == 200, body
    st, h, data = srv.req("GET", "/alice/private/resolve/main/copy.bin", token=ALICE)
    assert (st, data) == (307, b"")
    st, h, data = srv.req("GET", h["location"], token=ALICE)
    assert st == 200 and data == SECRET and h["x-linked-size"] == str(len(SECRET))


@pytest.mark.parametrize("size", [10, len(SECRET) + 1, 0, "abc", "10", None, -1, 1.5, True, [1]])
def test_declared_size_must_equal_the_blob_and_be_an_integer(srv: Srv, size: Any) -> None:
    st, _, body = srv.commit("alice/private", [_lfs("sized.bin", SECRET_SHA, size)], ALICE)
    assert st == 400, (size, st, body)
    assert srv.req("GET", "/alice/private/resolve/main/sized.bin", token=ALICE)[0] == 404


def test_parent_commit_must_be_the_full_head(srv: Srv) -> None:
    head = json.loads(srv.req("GET", "/api/models/alice/private", token=ALICE)[2])["sha"]
    add = {"key": "file", "value": {"path": "p.txt", "content": base64.b64encode(b"p").decode()}}
    for parent in (head[:1], head[:7], head[:39], head.upper()):
        body = "\n".join(
            json.dumps(x) for x in [{"key": "header", "value": {"summary": "x", "parentCommit": parent}}, add]
        )
        st = srv.req(
            "POST", "/api/models/alice/private/commit/main", body.encode(), ALICE, "application/x-ndjson"
        )[0]
        assert st == 400, parent
    body = "\n".join(
        json.dumps(x) for x in [{"key": "header", "value": {"summary": "x", "parentCommit": head}}, add]
    )
    assert (
        srv.req(
            "POST", "/api/models/alice/private/commit/main", body.encode(), ALICE, "application/x-ndjson"
        )[0]
        == 200
    )


MALFORMED_JSON: list[bytes] = [
    b"{",
    b"[]",
    b"null",
    b'"x"',
    b"12",
    b"\xff\xfe",
    b"[" * 100_000,
    # (the ones above are not JSON objects; an empty body is fine where no body is needed)
    b"",
    json.dumps({"name": ["x"], "organization": {"a": 1}, "type": 5, "private": "yes"}).encode(),
    json.dumps({"files": [{"path": 5, "size": "big", "sample": 7}]}).encode(),
    json.dumps({"files": [{"path": "a", "size": 1, "sample": "!!"}]}).encode(),
    json.dumps({"files": "x", "paths": {"a": 1}, "key": ["k"], "startingPoint": 3}).encode(),
    json.dumps({"private": "no", "visibility": 1, "gated": [1]}).encode(),
]
NOT_OBJECTS = 7
MALFORMED_NDJSON: list[bytes] = [
    b"{",
    b"[]\n{}",
    b'{"key": 1, "value": {}}',
    b'{"key": "file", "value": []}',
    b'{"key": "file", "value": {"path": "a", "content": 5}}',
    b'{"key": "file", "value": {"path": "a", "content": "!!!!"}}',
    b'{"key": "file", "value": {"path": "a", "content": "QQ==", "encoding": "utf-8"}}',
    b'{"key": "header", "value": {"content": "QUFB", "parentCommit": 5}}',
    b'{"key": "header", "value": {"parentCommit": ["a"]}}\n{"key":"deletedFile","value":{"path":"w.bin"}}',
    b'{"key": "lfsFile", "value": {"path": "a", "oid": ["x"], "size": 1}}',
    b'{"key": "copyFile", "value": {"path": "a", "srcPath": 7}}',
    b'{"key": "deletedFile", "value": {"path": null}}',
    b'{"key": "file", "value": {"path": "a", "content": "QUFB\n"}}',
    b'{"key": "file", "value": {"path": "a", "content": "QUFB\\u0041"}}',
]


def test_malformed_bodies_are_4xx_never_500(srv: Srv) -> None:
    routes = [
        ("POST", "/api/repos/create"),
        ("DELETE", "/api/repos/delete"),
        ("POST", "/api/models/alice/private/preupload/main"),
        ("POST", "/api/models/alice/private/paths-info/main"),
        ("PUT", "/api/models/alice/private/settings"),
        ("POST", "/api/models/alice/private/branch/dev"),
        ("POST", "/api/models/alice/private/tag/main"),
        ("POST", "/api/models/alice/private/super-squash/main"),
        ("POST", "/api/repos/move"),
        ("POST", "/api/models/alice/private/duplicate"),
        ("POST", "/alice/private.git/info/lfs/objects/batch"),
    ]
    bad = []
    for method, path in routes:
        for i, body in enumerate(MALFORMED_JSON):
            st, _, out = srv.req(method, path, body, ALICE, "application/json")
            # Not a JSON object: always 4xx. An object with wrong types: 4xx, or ignored where unused.
            if st >= 500 or (i < NOT_OBJECTS and not 400 <= st < 500):
                bad.append((method, path, body[:40], st, out[:80]))
    for body in MALFORMED_NDJSON:
        st, _, out = srv.req(
            "POST", "/api/models/alice/private/commit/main", body, ALICE, "application/x-ndjson"
        )
        if not 400 <= st < 500:
            bad.append(("commit", body[:60], st, out[:80]))
    assert bad == []
    # Nothing above changed the repo.
    files = json.loads(srv.req("GET", "/api/models/alice/private", token=ALICE)[2])["siblings"]
    assert {f["rfilename"] for f in files} <= {"w.bin", "copy.bin", "p.txt"}


@pytest.mark.parametrize(
    "name", ["x\n", "x\r\n", "-x", "x-", ".x", "x.", "a--b", "a..b", "x.git", "é", "a" * 97]
)
def test_repo_names_follow_the_hubs_rules(srv: Srv, name: str) -> None:
    st, _, _ = srv.req("POST", "/api/repos/create", {"name": name}, BOB)
    assert st == 400, name


@pytest.mark.parametrize("name", ["x", "x_", "_x", "a.b-c_d", "a" * 96])
def test_valid_repo_names_are_accepted(srv: Srv, name: str) -> None:
    assert srv.req("POST", "/api/repos/create", {"name": name}, BOB)[0] in (200, 409)


KV = {"key": "K", "value": "v"}


def test_private_space_secrets_and_variables_look_like_a_missing_space(srv: Srv) -> None:
    body = {"name": "hidden", "type": "space", "sdk": "gradio", "private": True}
    assert srv.req("POST", "/api/repos/create", body, ALICE)[0] == 200
    for kind in ("secrets", "variables"):
        for method, payload in (
            ("GET", None),
            ("POST", {"key": "K", "value": "v"}),
            ("DELETE", {"key": "K"}),
        ):
            for token in (None, BOB, "hf_carol_read_00003"):
                there = srv.req(method, f"/api/spaces/alice/hidden/{kind}", payload, token)
                missing = srv.req(method, f"/api/spaces/alice/nothing/{kind}", payload, token)
                assert (there[0], there[1].get("x-error-code")) == (
                    missing[0],
                    missing[1].get("x-error-code"),
                )
                assert there[0] in (401, 404)
        assert (
            srv.req("POST", f"/api/spaces/alice/hidden/{kind}", {"key": "K", "value": "v"}, ALICE)[0] == 200
        )


class _Body:
    """A request body that arrives in the given pieces (what commit_lines reads)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    async def readany(self) -> bytes:
        return self.pieces.pop(0) if self.pieces else b""


def test_commit_lines_stream_contents_and_agree_with_json_for_any_split(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    rng = random.Random(7)
    datas = [b"", b"x", os.urandom(3000), bytes(range(256)) * 40]
    lines = [{"key": "header", "value": {"summary": 'a "content": "quoted" \\ summary', "content": None}}]
    for i, d in enumerate(datas):
        b64 = base64.b64encode(d).decode()
        lines.append({"key": "file", "value": {"path": f"f{i}", "content": b64, "encoding": "base64"}})
    raw = "\n".join(json.dumps(x) for x in lines).replace("/", "\\/").encode()
    for _ in range(25):
        cuts = sorted(rng.sample(range(1, len(raw)), 40))
        pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]

        async def collect(pieces: list[bytes] = pieces) -> list[Any]:
            return [ln async for ln in commit_lines(_Body(pieces), store, read_timeout=5)]  # type: ignore[arg-type]

        got = asyncio.run(collect())
        assert len(got) == len(lines)
        assert got[0].obj["value"]["summary"] == lines[0]["value"]["summary"] and got[0].blob is None
        for line, data in zip(got[1:], datas, strict=True):
            assert line.obj["value"]["path"].startswith("f") and line.obj["value"]["content"] == ""
            assert line.blob == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            assert store.blob_path(line.blob["sha256"]).read_bytes() == data


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


SERVE = SERVE_ONE_WORKER


def test_a_512_mib_upload_stays_under_200_mb_above_idle(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(TOKENS)
    with socket_free_port() as port:
        pass
    proc = subprocess.Popen(
        [
            *SERVE,
            "--storage",
            str(tmp_path / "store"),
            "--port",
            str(port),
            "--tokens",
            str(tmp_path / "tokens"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    peak = [0.0]
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert Srv(url, tmp_path).req("GET", "/healthz")[0] == 200
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        idle = _rss_mb(proc.pid)

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _rss_mb(proc.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = """
import os
from huggingface_hub import HfApi
api = HfApi()
api.create_repo("alice/big")
data = os.urandom(1024 * 1024) * 512
api.upload_file(path_or_fileobj=data, path_in_repo="weights.dat", repo_id="alice/big")
print(api.model_info("alice/big", files_metadata=True).siblings[0].size)
"""
        out = run_client(code, url, token=ALICE, timeout=300).stdout.split()[-1]
        stop.set()
        sampler.join(5)
        assert out == str(512 * 1024 * 1024)
        print(f"server RSS idle {idle:.0f} MB, peak during a 512 MiB upload {peak[0]:.0f} MB")
        assert peak[0] - idle < 200, (idle, peak[0])
    finally:
        stop.set()
        proc.terminate()
        proc.wait(10)


class socket_free_port:
    """A free loopback port (closed again on exit, so the server can bind it)."""

    def __enter__(self) -> int:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
