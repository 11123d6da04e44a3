"""Pull-through: a fake Hub upstream (CDN redirects, Link pages on another host, Xet hints), the real
client through a caching gator, single-flight, faults, access control, and two chained gators."""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from mirror_fakehub import GOOD_TOKEN, FakeHub, FakeRepo, make_files
from mirror_server import http_request, import_repo, make_tiny_repo, run_client, start_mirror

from gator_setup.mirror.server import BackgroundServer

BIG = "model.safetensors"


req = http_request


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    files = make_files()
    h = FakeHub(
        {
            "acme/tiny": FakeRepo(files),
            "acme/priv": FakeRepo(files, sha="b" * 40, private=True),
            "acme/gated": FakeRepo(files, sha="c" * 40, gated=True),
        }
    ).start()
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture
def mirror(hub: FakeHub, tmp_path: Path) -> Iterator[BackgroundServer]:
    server = start_mirror(tmp_path / "cache", upstream=hub.url, branch_ttl=3600, upstream_timeout=1)
    try:
        yield server
    finally:
        server.stop()


def _store_blobs(server: BackgroundServer) -> list[Path]:
    return list((server.state.store.root / "blobs").glob("*/*"))


def test_real_client_through_cache_never_reaches_cdn_or_link_host(
    hub: FakeHub, mirror: BackgroundServer
) -> None:
    code = """
import json, os
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
s = snapshot_download("acme/tiny")
files = sorted(os.path.relpath(os.path.join(r, f), s) for r, _, fs in os.walk(s) for f in fs)
big = open(os.path.join(s, "model.safetensors"), "rb").read()
tree = [e.path for e in HfApi().list_repo_tree("acme/tiny", recursive=True)]
print(json.dumps({"files": files, "size": len(big), "tree": sorted(tree),
                  "info": HfApi().model_info("acme/tiny").sha}))
"""
    out = json.loads(run_client(code, mirror.url).stdout.splitlines()[-1])
    assert out["files"] == ["config.json", BIG, "sub/readme.txt"] and out["size"] == 2_000_000
    assert out["info"] == "a" * 40 and "sub" in out["tree"]
    # Every byte and page came through the mirror: no client request reached another origin.
    assert hub.requests("cdn", client_only=True) == [] and hub.requests("link", client_only=True) == []
    assert hub.requests("hub", client_only=True) == []
    assert len(hub.requests("link")) >= 1  # the mirror itself followed the Link pages
    # The mirror hides Xet: no header, no tree field.
    st, h, _ = req(mirror.url, "HEAD", f"/acme/tiny/resolve/{'a' * 40}/{BIG}")
    assert st == 200 and not any("xet" in k or "xet" in v for k, v in h.items())
    assert h["x-linked-etag"] == f'"{hashlib.sha256(make_files()[BIG]).hexdigest()}"'
    _, _, body = req(mirror.url, "GET", f"/api/models/acme/tiny/tree/{'a' * 40}?recursive=true")
    assert b"xetHash" not in body
    # A warm run, fresh client cache: zero upstream requests.
    before = len(hub.log)
    run_client(code, mirror.url)
    assert len(hub.log) == before


def test_single_flight_and_bytes_flow_before_blob_complete(hub: FakeHub, mirror: BackgroundServer) -> None:
    size = 2_000_000
    hub.faults.pause_at = 1_000_000
    path = f"/acme/tiny/resolve/{'a' * 40}/{BIG}"
    req(mirror.url, "GET", "/api/models/acme/tiny/revision/main")  # metadata first
    results: list[bytes] = []
    first_bytes = threading.Event()

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", urlsplit(mirror.url).port, timeout=30)
        conn.request("GET", path)
        r = conn.getresponse()
        head = r.read(500_000)
        if i == 0:
            first_bytes.set()
        results.append(head + r.read())
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    # Bytes reached a client while the upstream is paused half-way: nobody waited for the whole file.
    assert first_bytes.wait(15)
    assert not _store_blobs(mirror) or all(p.stat().st_size < size for p in _store_blobs(mirror))
    hub.faults.release.set()
    for t in threads:
        t.join(30)
    assert len(results) == 8 and all(r == make_files()[BIG] for r in results)
    assert len(hub.requests("cdn")) == 1 and mirror.state.pull.file_fetches == 1


def test_cold_head_is_fast_even_when_cdn_hangs(hub: FakeHub, mirror: BackgroundServer) -> None:
    hub.faults.hang = True
    t0 = time.monotonic()
    st, h, _ = req(mirror.url, "HEAD", f"/acme/tiny/resolve/main/{BIG}")
    assert st == 307 and h["x-linked-size"] == "2000000" and time.monotonic() - t0 < 2
    st, _, _ = req(mirror.url, "HEAD", h["location"])
    assert st == 200 and time.monotonic() - t0 < 2
    assert hub.requests("cdn") == []


def test_upstream_drop_mid_file_is_resumed_and_verified(hub: FakeHub, mirror: BackgroundServer) -> None:
    hub.faults.drop_after = 700_000
    st, _, body = req(mirror.url, "GET", f"/acme/tiny/resolve/{'a' * 40}/{BIG}")
    # The client saw one complete, correct response: the mirror resumed the upstream with a Range.
    assert st == 200 and body == make_files()[BIG]
    assert len(hub.requests("cdn")) == 2  # the dropped request and the resumed one
    assert len(_store_blobs(mirror)) == 1
    st, _, body = req(mirror.url, "GET", f"/acme/tiny/resolve/{'a' * 40}/{BIG}")
    assert st == 200 and body == make_files()[BIG] and len(hub.requests("cdn")) == 2


def test_wrong_bytes_are_quarantined_and_never_served_complete(
    hub: FakeHub, mirror: BackgroundServer
) -> None:
    hub.faults.wrong_bytes = True
    path = f"/acme/tiny/resolve/{'a' * 40}/{BIG}"
    req(mirror.url, "HEAD", path)
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(mirror.url).port, timeout=30)
    conn.request("GET", path)
    r = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead):
        r.read()
    conn.close()
    root = mirror.state.store.root
    assert _store_blobs(mirror) == [] and len(list((root / "quarantine").iterdir())) == 1
    assert list((root / "tmp").glob("*.part")) == []
    hub.faults.wrong_bytes = False
    st, _, body = req(mirror.url, "GET", path)
    assert st == 200 and body == make_files()[BIG]


@pytest.mark.parametrize("fault", ["status", "hang", "disk_full"])
def test_failures_leave_no_partial_blob_and_server_keeps_serving(
    hub: FakeHub, mirror: BackgroundServer, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if fault == "status":
        hub.faults.status = 503
    elif fault == "hang":
        hub.faults.hang = True
    else:
        import errno

        from gator_setup.mirror import store

        def full(self: Any, data: bytes) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        # Whichever way the fetch writes (write, append, or a worker thread's direct writes that it
        # reports with appended), the disk is full.
        monkeypatch.setattr(store.BlobWriter, "write", full)
        monkeypatch.setattr(store.BlobWriter, "append", full)
        monkeypatch.setattr(store.BlobWriter, "appended", full)
    st, h, _ = req(mirror.url, "GET", f"/acme/tiny/resolve/{'a' * 40}/{BIG}")
    assert st == 502 and h["x-error-code"] == "UpstreamUnavailable"
    assert _store_blobs(mirror) == [] and list((mirror.state.store.root / "tmp").glob("*.part")) == []
    assert req(mirror.url, "GET", "/healthz")[0] == 200
    monkeypatch.undo()
    hub.faults.status, hub.faults.hang = None, False
    st, _, body = req(mirror.url, "GET", f"/acme/tiny/resolve/{'a' * 40}/config.json")
    assert st == 200 and body == make_files()["config.json"]


def test_client_disconnect_mid_stream_still_caches(hub: FakeHub, mirror: BackgroundServer) -> None:
    import socket

    req(mirror.url, "HEAD", f"/acme/tiny/resolve/main/{BIG}")
    s = socket.create_connection(("127.0.0.1", urlsplit(mirror.url).port))
    s.sendall(f"GET /acme/tiny/resolve/{'a' * 40}/{BIG} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    s.recv(100_000)
    s.close()
    for _ in range(100):
        if _store_blobs(mirror):
            break
        time.sleep(0.05)
    assert len(_store_blobs(mirror)) == 1
    st, _, body = req(mirror.url, "GET", f"/acme/tiny/resolve/{'a' * 40}/{BIG}")
    assert st == 200 and body == make_files()[BIG] and len(hub.requests("cdn")) == 1


def test_private_and_gated_need_the_callers_own_accepted_token(hub: FakeHub, tmp_path: Path) -> None:
    mirror = start_mirror(tmp_path / "cache", upstream=hub.url, branch_ttl=3600)
    good = {"Authorization": GOOD_TOKEN}
    bad = {"Authorization": "Bearer someone-else"}
    try:
        assert req(mirror.url, "GET", "/acme/priv/resolve/main/config.json", good)[0] == 307
        assert req(mirror.url, "GET", f"/acme/priv/resolve/{'b' * 40}/config.json", good)[0] == 200
        st, h, _ = req(mirror.url, "GET", f"/acme/priv/resolve/{'b' * 40}/config.json")
        assert (st, h["x-error-code"]) == (401, "RepoNotFound")
        st, h, _ = req(mirror.url, "GET", f"/acme/priv/resolve/{'b' * 40}/config.json", bad)
        assert st == 404 and h["x-error-code"] == "RepoNotFound"
        assert req(mirror.url, "GET", "/api/models/acme/priv", bad)[0] == 404
        # Gated: metadata is public, files need an accepted token.
        assert req(mirror.url, "GET", "/api/models/acme/gated")[0] == 200
        assert req(mirror.url, "GET", f"/acme/gated/resolve/{'c' * 40}/config.json", good)[0] == 200
        st, h, _ = req(mirror.url, "GET", f"/acme/gated/resolve/{'c' * 40}/config.json", bad)
        assert (st, h.get("x-error-code")) == (403, "GatedRepo"), (st, h, _)
        assert req(mirror.url, "GET", f"/acme/gated/resolve/{'c' * 40}/config.json")[0] == 401
        # Stored LFS bytes too: once fetched for an accepted token, still gated for everyone else.
        assert req(mirror.url, "GET", f"/acme/gated/resolve/{'c' * 40}/{BIG}", good)[0] == 200
        assert req(mirror.url, "GET", f"/acme/gated/resolve/{'c' * 40}/{BIG}", bad)[0] == 403
        assert req(mirror.url, "GET", f"/acme/gated/resolve/{'c' * 40}/{BIG}")[0] == 401
    finally:
        mirror.stop()
    # Offline: only tokens the upstream accepted before.
    offline = start_mirror(tmp_path / "cache", upstream=hub.url, offline=True)
    before = len(hub.log)
    try:
        assert req(offline.url, "GET", f"/acme/priv/resolve/{'b' * 40}/config.json", good)[0] == 200
        assert req(offline.url, "GET", f"/acme/priv/resolve/{'b' * 40}/config.json", bad)[0] == 404
        assert req(offline.url, "GET", f"/acme/priv/resolve/{'b' * 40}/config.json")[0] == 401
        assert req(offline.url, "GET", f"/acme/gated/resolve/{'c' * 40}/config.json", bad)[0] == 403
        assert len(hub.log) == before
    finally:
        offline.stop()


def test_rate_limited_upstream_serves_last_known_commit(hub: FakeHub, tmp_path: Path) -> None:
    mirror = start_mirror(tmp_path / "cache", upstream=hub.url, branch_ttl=0)
    try:
        assert req(mirror.url, "HEAD", "/acme/tiny/resolve/main/config.json")[0] == 307
        hub.faults.api_status = 429
        st, h, _ = req(mirror.url, "HEAD", "/acme/tiny/resolve/main/config.json")
        assert st == 307 and h["x-repo-commit"] == "a" * 40 and "x-gator-stale" in h
        st, h, _ = req(mirror.url, "GET", "/api/models/acme/other")
        assert st == 502 and h["x-error-code"] == "UpstreamUnavailable"  # never a fake RepoNotFound
    finally:
        mirror.stop()


def test_two_gators_chained_serve_with_upstream_stopped(tmp_path: Path) -> None:
    src = make_tiny_repo(tmp_path / "src")
    commit = import_repo(tmp_path / "up", src, "acme/tiny")
    up = start_mirror(tmp_path / "up")
    down = start_mirror(tmp_path / "down", upstream=up.url, branch_ttl=0)
    code = """
import json, os
from huggingface_hub import snapshot_download
s = snapshot_download("acme/tiny")
print(json.dumps(sorted(os.path.relpath(os.path.join(r, f), s) for r, _, fs in os.walk(s) for f in fs)))
"""
    try:
        expected = ["README.md", "config.json", "model.safetensors", "sub/notes.txt"]
        assert json.loads(run_client(code, down.url).stdout.splitlines()[-1]) == expected
        # The branch moves upstream: re-resolved once the TTL (0 here) has passed.
        (src / "README.md").write_text("# moved\n")
        moved = import_repo(tmp_path / "up", src, "acme/tiny")
        st, h, _ = req(down.url, "HEAD", "/acme/tiny/resolve/main/README.md")
        assert st == 307 and h["x-repo-commit"] == moved != commit
        st, _, body = req(down.url, "GET", h["location"])
        assert st == 200 and body == b"# moved\n"
        up.stop()
        # branch_ttl=0: main is re-resolved, the upstream is gone, the last known commit is served.
        assert json.loads(run_client(code, down.url).stdout.splitlines()[-1]) == expected
        st, h, _ = req(down.url, "HEAD", "/acme/tiny/resolve/main/config.json")
        assert st == 307 and h["x-repo-commit"] == moved and "x-gator-stale" in h
    finally:
        down.stop()
    offline = start_mirror(tmp_path / "down", upstream="http://127.0.0.1:9", offline=True)
    try:
        assert json.loads(run_client(code, offline.url).stdout.splitlines()[-1]) == expected
    finally:
        offline.stop()


def test_cold_range_request_is_served_from_the_growing_file(hub: FakeHub, mirror: BackgroundServer) -> None:
    path = f"/acme/tiny/resolve/{'a' * 40}/{BIG}"
    st, h, body = req(mirror.url, "GET", path, {"Range": "bytes=1500000-"})
    assert st == 206 and body == make_files()[BIG][1_500_000:]
    assert h["content-range"] == "bytes 1500000-1999999/2000000"
    assert req(mirror.url, "GET", path, {"Range": "bytes=9999999-"})[0] == 416
