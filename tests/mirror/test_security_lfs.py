"""LFS uploads (preupload `lfs`, batch API upload, signed PUT, verify) with the real client, and the
attacks on them: stolen object ids, tampered or expired upload URLs, wrong bytes (issue 17 item 2,
issue 20 item 1)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from mirror_server import http_request, run_client, start_mirror

from gator_setup.mirror.server import BackgroundServer

ALICE = "hf_alice_write_0001"
BOB = "hf_bob_write_000002"
NO_XET = {"HF_HUB_DISABLE_XET": "1"}  # huggingface_hub with hf_xet sends `lfs` files to Xet instead


def req(
    url: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/vnd.git-lfs+json"
    return http_request(url, method, path, headers, body)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    d = tmp_path_factory.mktemp("lfs")
    (d / "tokens").write_text(f"{ALICE} alice write\n{BOB} bob write\n")
    srv = start_mirror(d / "store", tokens_file=d / "tokens", lfs_uploads=True)
    for name, token in (("alice/private", ALICE), ("bob/public", BOB)):
        body = {"name": name.split("/")[1], "private": name.endswith("private")}
        assert req(srv.url, "POST", "/api/repos/create", body, token)[0] == 200
    try:
        yield srv
    finally:
        srv.stop()


def test_real_client_uploads_big_and_binary_files_through_lfs_and_reads_them_back(
    server: BackgroundServer, tmp_path: Path
) -> None:
    big = os.urandom(11 * 1024 * 1024)  # over the Hub's 10 MB rule
    (tmp_path / "big.dat").write_bytes(big)
    (tmp_path / "tiny.xyz").write_bytes(b"\x00\x01binary")  # binary by its sample
    (tmp_path / "notes.txt").write_text("plain text\n")
    code = f"""
import json
from huggingface_hub import HfApi, hf_hub_download
api = HfApi()
api.upload_folder(folder_path={str(tmp_path)!r}, repo_id="alice/private", commit_message="lfs")
tree = {{e.path: bool(e.lfs) for e in api.list_repo_tree("alice/private")}}
got = open(hf_hub_download("alice/private", "big.dat"), "rb").read()
print(json.dumps({{"tree": tree, "sha": __import__("hashlib").sha256(got).hexdigest()}}))
"""
    out = json.loads(run_client(code, server.url, token=ALICE, env=NO_XET).stdout.splitlines()[-1])
    assert out["tree"] == {"big.dat": True, "tiny.xyz": True, "notes.txt": False}
    assert out["sha"] == hashlib.sha256(big).hexdigest()


def test_preuploaded_file_can_be_deleted_before_the_commit_like_datasets_push_to_hub(
    server: BackgroundServer, tmp_path: Path
) -> None:
    code = f"""
import os
from huggingface_hub import HfApi, CommitOperationAdd, hf_hub_download
api = HfApi()
shard = {str(tmp_path / "shard.parquet")!r}
open(shard, "wb").write(b"PAR1" + os.urandom(5000) + b"PAR1")
op = CommitOperationAdd(path_in_repo="data/train-00000.parquet", path_or_fileobj=shard)
api.preupload_lfs_files("alice/private", additions=[op])
os.remove(shard)  # datasets deletes each shard right after preuploading it
api.create_commit("alice/private", operations=[op], commit_message="push_to_hub")
print(os.path.getsize(hf_hub_download("alice/private", "data/train-00000.parquet")))
"""
    assert run_client(code, server.url, token=ALICE, env=NO_XET).stdout.split()[-1] == "5008"


def _batch(server: BackgroundServer, repo: str, oid: str, size: int, token: str) -> dict[str, Any]:
    body = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]}
    st, _, data = req(server.url, "POST", f"/{repo}.git/info/lfs/objects/batch", body, token)
    assert st == 200, data
    obj: dict[str, Any] = json.loads(data)["objects"][0]
    return obj


def _put(server: BackgroundServer, href: str, data: bytes) -> int:
    return req(server.url, "PUT", urlsplit(href).path, data)[0]


def test_batch_never_reveals_another_repos_object_and_stolen_ids_need_the_bytes(
    server: BackgroundServer,
) -> None:
    secret = os.urandom(200_000)
    oid, size = hashlib.sha256(secret).hexdigest(), len(secret)
    first = _batch(server, "alice/private", oid, size, ALICE)
    assert _put(server, first["actions"]["upload"]["href"], secret) == 200
    # Alice may now link it; asked again, the batch says it is there.
    assert "actions" not in _batch(server, "alice/private", oid, size, ALICE)
    # Bob asks about alice's object for his own repo: told to upload it, as for anything unknown.
    stolen = _batch(server, "bob/public", oid, size, BOB)
    unknown = _batch(server, "bob/public", "d" * 64, size, BOB)
    assert set(stolen) == set(unknown) and "upload" in stolen["actions"]
    # Without the bytes he cannot make it count: a wrong body is refused, the commit too.
    assert _put(server, stolen["actions"]["upload"]["href"], b"x" * size) == 400
    verify = {"oid": oid, "size": size}
    assert req(server.url, "POST", "/bob/public.git/info/lfs/verify", verify, BOB)[0] == 404
    line = {"key": "lfsFile", "value": {"path": "s.bin", "algo": "sha256", "oid": oid, "size": size}}
    body = "\n".join(json.dumps(x) for x in [{"key": "header", "value": {"summary": "s"}}, line]).encode()
    assert req(server.url, "POST", "/api/models/bob/public/commit/main", body, BOB)[0] == 422


def test_upload_urls_cannot_be_forged_reused_elsewhere_or_overfilled(server: BackgroundServer) -> None:
    data = os.urandom(50_000)
    oid, size = hashlib.sha256(data).hexdigest(), len(data)
    href = urlsplit(_batch(server, "bob/public", oid, size, BOB)["actions"]["upload"]["href"]).path
    prefix, sig = href.rsplit("/", 1)
    assert _put(server, f"{prefix}/{'0' * len(sig)}", data) == 403  # forged signature
    assert _put(server, href.replace("/bob/public.git/", "/alice/private.git/"), data) == 403
    assert _put(server, href.replace("/upload/bob/", "/upload/alice/"), data) == 403
    parts = href.split("/")
    parts[-2] = "1"  # expired long ago (and no longer matching the signature)
    assert _put(server, "/".join(parts), data) == 403
    assert _put(server, href, data + b"extra") == 400
    assert _put(server, href, data[:-1]) == 400
    assert _put(server, href, data) == 200
    # Alice is not a writer of bob's namespace: the batch refuses her.
    body = {"operation": "upload", "objects": [{"oid": oid, "size": size}]}
    assert req(server.url, "POST", "/bob/public.git/info/lfs/objects/batch", body, ALICE)[0] == 403
    assert req(server.url, "POST", "/bob/public.git/info/lfs/objects/batch", body)[0] == 401


def test_datasets_push_to_hub_then_load_dataset_with_lfs_uploads(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    srv = start_mirror(tmp_path / "store", lfs_uploads=True)
    code = """
import json
from datasets import Dataset, load_dataset
Dataset.from_dict({"x": [1, 2, 3], "y": ["a", "b", "c"]}).push_to_hub("dev/pushed", token="dev-token")
print(json.dumps(load_dataset("dev/pushed", split="train").to_dict()))
"""
    try:
        out = run_client(code, srv.url, timeout=300, env=NO_XET).stdout.strip().splitlines()[-1]
        assert json.loads(out) == {"x": [1, 2, 3], "y": ["a", "b", "c"]}
    finally:
        srv.stop()
