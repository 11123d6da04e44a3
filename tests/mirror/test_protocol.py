"""The HTTP protocol of a served store, checked byte by byte with raw requests (no client library)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from mirror_server import import_repo, make_tiny_repo, start_mirror

from gator_setup.mirror import gitobj


class Srv:
    def __init__(self, url: str, commit: str, store: Path) -> None:
        self.url, self.commit, self.store = url, commit, store
        self.port = urlsplit(url).port

    def req(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srv]:
    d = tmp_path_factory.mktemp("proto")
    src = make_tiny_repo(d / "src")
    for i in range(7):
        (src / "many" / f"f{i}.txt").parent.mkdir(exist_ok=True)
        (src / "many" / f"f{i}.txt").write_text(f"file {i}\n")
    commit = import_repo(d / "store", src, "acme/tiny")
    import_repo(d / "store", src, "acme/secret", private=True)
    import_repo(d / "store", src, "acme/data", repo_type="dataset")
    tokens = d / "tokens"
    tokens.write_text("# token user role\nreadtoken123 alice read\nwritetoken12 bob write\n")
    server = start_mirror(d / "store", tokens_file=tokens, tree_page_size=5)
    try:
        yield Srv(server.url, commit, d / "store")
    finally:
        server.stop()


def test_head_small_file_headers(srv: Srv) -> None:
    st, h, body = srv.req("HEAD", f"/acme/tiny/resolve/{srv.commit}/config.json")
    assert st == 200 and body == b""
    assert h["x-repo-commit"] == srv.commit
    raw = b'{"model_type": "tiny", "hidden_size": 8}\n'
    assert h["etag"] == f'"{gitobj.git_blob_sha1(raw)}"'
    assert h["content-length"] == str(len(raw)) and h["accept-ranges"] == "bytes"
    assert "x-linked-etag" not in h
    assert not any(k.startswith("x-xet") for k in h)


def test_lfs_file_headers_and_body(srv: Srv) -> None:
    st, h, body = srv.req("GET", f"/acme/tiny/resolve/{srv.commit}/model.safetensors")
    import hashlib

    digest = hashlib.sha256(body).hexdigest()
    assert st == 200 and len(body) == 300_000
    assert h["etag"] == h["x-linked-etag"] == f'"{digest}"' and h["x-linked-size"] == "300000"


def test_branch_is_pinned_by_same_host_redirect_with_full_headers(srv: Srv) -> None:
    st, h, _ = srv.req("HEAD", "/acme/tiny/resolve/main/model.safetensors")
    assert st == 307
    assert h["location"] == f"/acme/tiny/resolve/{srv.commit}/model.safetensors"
    assert h["x-repo-commit"] == srv.commit and h["x-linked-size"] == "300000" and h["x-linked-etag"]


def test_range_requests(srv: Srv) -> None:
    path = f"/acme/tiny/resolve/{srv.commit}/model.safetensors"
    st, h, body = srv.req("GET", path, {"Range": "bytes=10-19"})
    assert st == 206 and body == bytes(range(10, 20)) and h["content-range"] == "bytes 10-19/300000"
    st, _, body = srv.req("GET", path, {"Range": "bytes=299990-"})
    assert st == 206 and len(body) == 10
    for bogus in (
        "bytes=400000-",
        "bytes=abc",
        "bytes=5-1",
        "items=0-1",
        "bytes=0-1,4-5",
        "bytes=" + "9" * 400,
    ):
        st, _, _ = srv.req("GET", path, {"Range": bogus})
        assert st in (200, 416), (bogus, st)


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/acme/nope/resolve/main/config.json", 401, "RepoNotFound"),
        ("/acme/tiny/resolve/nobranch/config.json", 404, "RevisionNotFound"),
        ("/acme/tiny/resolve/main/missing.json", 404, "EntryNotFound"),
        ("/acme/secret/resolve/main/config.json", 401, "RepoNotFound"),
        ("/datasets/acme/tiny/resolve/main/config.json", 401, "RepoNotFound"),
    ],
)
def test_error_codes(srv: Srv, path: str, status: int, code: str) -> None:
    st, h, _ = srv.req("HEAD", path)
    assert (st, h.get("x-error-code")) == (status, code)
    if code == "EntryNotFound":
        assert h["x-repo-commit"] == srv.commit  # lets clients cache the miss in .no_exist/


def test_private_repo_needs_known_token(srv: Srv) -> None:
    path = "/acme/secret/resolve/main/config.json"
    assert srv.req("HEAD", path, {"Authorization": "Bearer readtoken123"})[0] == 307
    st, h, _ = srv.req("HEAD", path, {"Authorization": "Bearer wrongtoken99"})
    assert st == 401 and "Invalid credentials" in h["x-error-message"]
    st, _, body = srv.req("GET", "/api/whoami-v2", {"Authorization": "Bearer readtoken123"})
    assert st == 200 and json.loads(body)["name"] == "alice"
    assert srv.req("GET", "/api/whoami-v2")[0] == 401


def test_writes_need_write_token(srv: Srv) -> None:
    body = {"name": "new", "organization": "acme"}
    assert srv.req("POST", "/api/repos/create", body=body)[0] == 401
    assert srv.req("POST", "/api/repos/create", {"Authorization": "Bearer readtoken123"}, body)[0] == 403
    st, _, data = srv.req("POST", "/api/repos/create", {"Authorization": "Bearer writetoken12"}, body)
    assert st == 200 and json.loads(data)["url"] == f"{srv.url}/acme/new"
    st, _, data = srv.req("POST", "/api/repos/create", {"Authorization": "Bearer writetoken12"}, body)
    assert st == 409 and json.loads(data)["url"] == f"{srv.url}/acme/new"


def test_repo_info_fields(srv: Srv) -> None:
    st, _, body = srv.req("GET", "/api/models/acme/tiny")
    info = json.loads(body)
    assert st == 200 and info["sha"] == srv.commit and info["id"] == "acme/tiny"
    assert {"private", "downloads", "likes", "tags", "lastModified", "siblings"} <= set(info)
    import datetime

    datetime.datetime.strptime(info["lastModified"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert {"rfilename": "sub/notes.txt"} in info["siblings"]
    st, _, body = srv.req("GET", f"/api/models/acme/tiny/revision/{srv.commit}?blobs=true")
    sib = {s["rfilename"]: s for s in json.loads(body)["siblings"]}
    assert sib["model.safetensors"]["lfs"]["size"] == 300_000
    assert srv.req("GET", "/api/datasets/acme/data/revision/main")[0] == 200


def test_tree_pages_with_absolute_link_to_mirror(srv: Srv) -> None:
    path = f"/api/models/acme/tiny/tree/{srv.commit}?recursive=true&expand=false"
    seen: list[dict[str, Any]] = []
    pages = 0
    while path:
        st, h, body = srv.req("GET", path)
        assert st == 200
        seen += json.loads(body)
        pages += 1
        link = h.get("link")
        if not link:
            break
        url = link.split(";")[0].strip("<>")
        assert url.startswith(srv.url + "/api/models/acme/tiny/tree/")
        path = url[len(srv.url) :]
    paths = [e["path"] for e in seen]
    assert pages == 3 and len(paths) == len(set(paths)) == 13
    assert {"sub", "many", "many/f6.txt", "model.safetensors"} <= set(paths)
    assert not any("xetHash" in e for e in seen)
    st, _, body = srv.req("GET", "/api/models/acme/tiny/tree/main/sub")
    assert [e["path"] for e in json.loads(body)] == ["sub/notes.txt"]
    assert srv.req("GET", "/api/models/acme/tiny/tree/main/nothere")[0] == 404


def test_paths_info(srv: Srv) -> None:
    st, _, body = srv.req(
        "POST",
        "/api/models/acme/tiny/paths-info/main",
        {"Content-Type": "application/x-www-form-urlencoded"},
        "paths=config.json&paths=sub&paths=missing&expand=true",
    )
    out = {e["path"]: e for e in json.loads(body)}
    assert st == 200 and set(out) == {"config.json", "sub"} and out["sub"]["type"] == "directory"


@pytest.mark.parametrize(
    "path",
    [
        "/acme/tiny/resolve/main/../../../../etc/passwd",
        "/acme/tiny/resolve/main/%2e%2e/%2e%2e/etc/passwd",
        "/acme/tiny/resolve/main/sub%2F..%2F..%2Fx",
        "/acme/tiny/resolve/main//etc/passwd",
        "/acme/tiny/resolve/main/%2Fetc%2Fpasswd",
        "/acme%2F..%2F..%2Fx/tiny/resolve/main/config.json",
        "/../../etc/passwd",
        "/acme/ti..ny/resolve/main/config.json",
        "/acme/tiny/resolve/..%2F..%2Fmain/config.json",
        "/api/models/acme/tiny/tree/main/..%2F..",
        "/api/models/acme/../../x/revision/main",
        "/acme/tiny/resolve/main/a%00b",
    ],
)
def test_traversal_and_malformed_input_is_4xx(srv: Srv, path: str) -> None:
    st, _, body = srv.req("GET", path)
    assert 400 <= st < 500, (path, st)
    assert b"root:" not in body


def test_huge_header_is_4xx_and_server_survives(srv: Srv) -> None:
    st, _, _ = srv.req("GET", "/healthz", {"X-Big": "a" * 100_000})
    assert 400 <= st < 500
    assert srv.req("GET", "/healthz")[0] == 200


def test_malformed_bodies_are_4xx(srv: Srv) -> None:
    auth = {"Authorization": "Bearer writetoken12"}
    for path, body in [
        ("/api/repos/create", "not json"),
        ("/api/repos/create", "[1,2]"),
        ("/api/models/acme/tiny/preupload/main", '{"files": [{"path": "../x"}]}'),
        ("/api/models/acme/tiny/commit/main", '{"key": "file", "value": {"path": "x", "content": "!!"}}'),
        ("/api/models/acme/tiny/commit/main", "garbage\n"),
        (
            "/api/models/acme/tiny/commit/main",
            '{"key": "lfsFile", "value": {"path": "x", "oid": "zz", "size": 1}}',
        ),
    ]:
        st, _, _ = srv.req("POST", path, {**auth, "Content-Type": "application/json"}, body)
        assert 400 <= st < 500, (path, body, st)


def test_head_then_get_cannot_straddle_a_branch_move(tmp_path: Path) -> None:
    src = make_tiny_repo(tmp_path / "src")
    first = import_repo(tmp_path / "store", src, "acme/moving")
    server = start_mirror(tmp_path / "store")
    try:
        s = Srv(server.url, first, tmp_path / "store")
        st, h, _ = s.req("HEAD", "/acme/moving/resolve/main/README.md")
        assert st == 307 and h["x-repo-commit"] == first
        (src / "README.md").write_text("# second\n")
        second = import_repo(tmp_path / "store", src, "acme/moving")
        st, h2, body = s.req("GET", h["location"])
        assert st == 200 and body == b"# tiny\n" and h2["x-repo-commit"] == first
        st, h3, _ = s.req("HEAD", "/acme/moving/resolve/main/README.md")
        assert h3["x-repo-commit"] == second != first
    finally:
        server.stop()
