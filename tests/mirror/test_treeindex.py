"""Tree listings from the per-commit index: the same answers as a full walk, pages that follow cursors,
folder paths with encoded slashes, and one index build per commit."""

from __future__ import annotations

import http.client
import json
import random
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from mirror_server import run_client, start_mirror

from gator_setup.mirror import gitobj
from gator_setup.mirror.ids import parse_repo_id
from gator_setup.mirror.store import Store, make_entry
from gator_setup.mirror.treeindex import BadCursor, TreeIndex, decode_cursor, encode_cursor

DIRS = ["", "a", "a/b", "a/b/c", "a-b", "a.b", "a0", "data/train", "data/test", "data/train/x y", "Z", "é"]


def random_files(seed: int, n: int) -> dict[str, dict[str, Any]]:
    rnd = random.Random(seed)
    files: dict[str, dict[str, Any]] = {}
    for i in range(n):
        d = rnd.choice(DIRS)
        name = rnd.choice(["f%d.txt", "m%d.safetensors", "w-%d.bin", "a%d", "%d", "b%d.json"]) % i
        path = f"{d}/{name}" if d else name
        lfs = name.endswith((".safetensors", ".bin"))
        files[path] = {
            "oid": f"{i:040x}",
            "size": i,
            "lfs": lfs,
            "sha256": f"{i:064x}" if lfs else None,
        }
    return files


def walk(files: dict[str, Any], prefix: str, recursive: bool) -> list[dict[str, Any]]:
    """The listing as the mirror computed it before the index: every file visited for every request."""
    _, dir_oids = gitobj.tree_oid(files)
    base = prefix + "/" if prefix else ""
    out: dict[str, dict[str, Any]] = {}
    for path, e in files.items():
        if not path.startswith(base):
            continue
        rest = path[len(base) :].split("/")
        depth = len(rest) if recursive else 1
        for i in range(1, min(depth, len(rest) - 1) + 1):
            d = base + "/".join(rest[:i])
            out[d] = {"type": "directory", "oid": dir_oids.get(d, ""), "size": 0, "path": d}
        if recursive or len(rest) == 1:
            fe: dict[str, Any] = {"type": "file", "oid": e["oid"], "size": e["size"], "path": path}
            if e.get("lfs"):
                pointer = len(gitobj.lfs_pointer(e["sha256"], e["size"]))
                fe["lfs"] = {"oid": e["sha256"], "size": e["size"], "pointerSize": pointer}
            out[path] = fe
    return [out[k] for k in sorted(out)]


def paginate(index: TreeIndex, prefix: str, recursive: bool, limit: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    after = None
    while True:
        page, more = index.page(prefix, recursive, after, limit)
        assert len(page) <= limit
        got += page
        if not more:
            return got
        after = decode_cursor(encode_cursor(page[-1]["path"]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_index_pages_equal_a_full_walk(seed: int) -> None:
    files = random_files(seed, 400)
    index = TreeIndex(files)
    for prefix in [*(d for d in DIRS if d), ""]:
        if prefix and not index.is_dir(prefix):
            continue
        for recursive in (True, False):
            expected = walk(files, prefix, recursive)
            for limit in (1, 7, 1000):
                assert paginate(index, prefix, recursive, limit) == expected, (prefix, recursive, limit)
    assert index.file_paths() == sorted(files)
    assert index.get("a/b")["type"] == "directory" and index.get("nothere") is None  # type: ignore[index]


def test_cursor_is_opaque_and_checked() -> None:
    assert decode_cursor(encode_cursor("data/train/x y/é.txt")) == "data/train/x y/é.txt"
    for bad in ("MTAwMA==", "not base64!", encode_cursor("x")[:-3], ""):
        with pytest.raises(BadCursor):
            decode_cursor(bad)


class Srv:
    def __init__(self, url: str, store: Store) -> None:
        self.url, self.store = url, store
        self.port = urlsplit(url).port

    def get(self, path: str) -> tuple[int, dict[str, str], Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", path)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        body = json.loads(data) if r.status == 200 else data
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body

    def pages(self, path: str) -> tuple[list[dict[str, Any]], int]:
        seen: list[dict[str, Any]] = []
        n = 0
        next_path: str | None = path
        while next_path:
            st, h, body = self.get(next_path)
            assert st == 200, (next_path, st, body)
            seen += body
            n += 1
            link = h.get("link")
            next_path = link.split(";")[0].strip("<>")[len(self.url) :] if link else None
        return seen, n


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("treeindex") / "store"
    store = Store(root)
    ref = parse_repo_id("acme/nested", "dataset")
    store.create_repo(ref)
    blob = store.put_bytes(b"row\n")
    files = random_files(7, 300)
    adds = {p: make_entry(p, blob["sha256"], blob["size"], store.blob_path(blob["sha256"])) for p in files}
    store.commit(ref, "main", adds=adds)
    server = start_mirror(root, tree_page_size=9)
    try:
        yield Srv(server.url, server.state.store)
    finally:
        server.stop()


def test_encoded_slashes_in_folder_paths(srv: Srv) -> None:
    plain, _ = srv.pages("/api/datasets/acme/nested/tree/main/data/train?recursive=true")
    encoded, _ = srv.pages("/api/datasets/acme/nested/tree/main/data%2Ftrain?recursive=true")
    spaced, _ = srv.pages(f"/api/datasets/acme/nested/tree/main/{quote('data/train/x y', safe='')}")
    assert plain == encoded and plain and all(e["path"].startswith("data/train/") for e in plain)
    assert spaced and all(e["path"].startswith("data/train/x y/") for e in spaced)
    for bad in ("data%2F..%2F..%2Fetc", "%2Fdata", "data%2F%2Ftrain", "data%5Ctrain", "..%2F.."):
        assert srv.get(f"/api/datasets/acme/nested/tree/main/{bad}")[0] == 400, bad
    assert srv.get("/api/datasets/acme/nested/tree/main/data%2Fnothere")[0] == 404


def test_pages_follow_the_cursor_and_index_is_built_once(srv: Srv) -> None:
    before = srv.store.trees.builds
    seen, pages = srv.pages("/api/datasets/acme/nested/tree/main?recursive=true")
    paths = [e["path"] for e in seen]
    assert paths == sorted(set(paths)) and pages == -(-len(paths) // 9)
    srv.pages("/api/datasets/acme/nested/tree/main/a?recursive=false")
    assert srv.store.trees.builds - before <= 1
    assert srv.get("/api/datasets/acme/nested/tree/main?cursor=bm9wZQ")[0] == 400


def test_real_client_lists_nested_folders(srv: Srv) -> None:
    code = """
import json
from huggingface_hub import HfApi, HfFileSystem
api = HfApi()
flat = sorted(
    e.path for e in api.list_repo_tree("acme/nested", path_in_repo="data/train", repo_type="dataset"))
deep = sorted(e.path for e in api.list_repo_tree(
    "acme/nested", path_in_repo="data/train", repo_type="dataset", recursive=True))
ls = sorted(HfFileSystem().ls("datasets/acme/nested/data/train", detail=False))
print(json.dumps({"flat": flat, "deep": deep, "ls": ls}))
"""
    out = json.loads(run_client(code, srv.url).stdout.strip().splitlines()[-1])
    body, _ = srv.pages("/api/datasets/acme/nested/tree/main/data/train")
    assert out["flat"] == [e["path"] for e in body] and "data/train/x y" in out["flat"]
    assert all(p.startswith("data/train/") for p in out["deep"]) and len(out["deep"]) > len(out["flat"])
    assert out["ls"] == ["datasets/acme/nested/" + p for p in out["flat"]]


def test_expanded_entries_do_not_change_the_shared_index(srv: Srv) -> None:
    _, _, expanded = srv.get("/api/datasets/acme/nested/tree/main/data%2Ftrain?expand=true")
    assert expanded and all("lastCommit" in e for e in expanded)
    _, _, plain = srv.get("/api/datasets/acme/nested/tree/main/data%2Ftrain")
    assert plain and not any("lastCommit" in e for e in plain)


def test_index_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    from gator_setup.mirror.treeindex import IndexCache

    cache = IndexCache(max_entries=10)
    commits = [{"id": f"{i:040x}", "files": random_files(i, 6)} for i in range(3)]
    first = cache.get("r", commits[0])
    assert cache.get("r", commits[0]) is first and cache.builds == 1
    cache.get("r", commits[1])  # over 10 entries together: the first goes
    assert cache.get("r", commits[1]) is not None and cache.builds == 2
    assert cache.get("r", commits[0]) is not first and cache.builds == 3
    big = {"id": "f" * 40, "files": random_files(9, 50)}
    assert len(cache.get("r", big)) > 10 and cache.get("r", big) is cache.get("r", big)  # kept alone
