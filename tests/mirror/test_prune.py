"""Store upkeep: a pinned store served without an upstream, prune by recorded use with its reasons
and exit code, and removal of temp files left by killed transfers."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mirror_fakehub import FakeHub, FakeRepo, make_files
from mirror_server import make_tiny_repo, run_client, start_mirror

from gator_setup.cli.app import main
from gator_setup.mirror.core import prune_store
from gator_setup.mirror.ids import parse_repo_id
from gator_setup.mirror.store import BlobWriter, Store, import_folder
from gator_setup.mirror.tmpfiles import Busy, clean_tmp


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    h = FakeHub({"acme/tiny": FakeRepo(make_files()), "acme/other": FakeRepo(make_files(50_000))}).start()
    try:
        yield h
    finally:
        h.stop()


def test_pinned_store_serves_without_upstream(hub: FakeHub, tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert main(["mirror", "pin", "acme/tiny", "--storage", str(store), "--upstream", hub.url]) == 0
    asked = len(hub.log)
    server = start_mirror(store)  # the air-gapped side: no upstream
    try:
        code = """
import json
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
api = HfApi()
print(json.dumps({"files": sorted(api.list_repo_files("acme/tiny")),
    "sha": api.model_info("acme/tiny").sha,
    "config": open(hf_hub_download("acme/tiny", "config.json")).read(),
    "snap": snapshot_download("acme/tiny")}))
"""
        out = json.loads(run_client(code, server.url).stdout.strip().splitlines()[-1])
    finally:
        server.stop()
    assert len(hub.log) == asked
    assert out["files"] == sorted(make_files()) and out["sha"] == "a" * 40
    assert out["config"] == make_files()["config.json"].decode() and out["snap"].endswith("a" * 40)


def _blob(store: Store, data: bytes, age_s: float) -> str:
    sha = store.put_bytes(data)["sha256"]
    past = time.time() - age_s
    os.utime(store.blob_path(sha), (past, past))
    return sha


def test_prune_follows_recorded_use_not_access_time(tmp_path: Path) -> None:
    store = Store(tmp_path)
    served = _blob(store, b"a" * 1000, 7200)
    idle = _blob(store, b"b" * 1000, 3600)
    store.usage.record(served)
    past = time.time() - 600  # served ten minutes ago (not "in the last minute")
    os.utime(tmp_path / "usage" / served[:2] / served, (past, past))
    # A backup read every blob (`cp -a` or sha256sum): access times say "just now" for both.
    now = time.time()
    for sha in (served, idle):
        os.utime(store.blob_path(sha), (now, os.stat(store.blob_path(sha)).st_mtime))
    r = prune_store(tmp_path, 1500)
    assert (r.removed, r.freed, r.kept, r.over) == (1, 1000, 1000, False)
    assert store.has_blob(served) and not store.has_blob(idle)
    assert not (tmp_path / "usage" / idle[:2] / idle).exists()
    # Served within the last minute: kept even over the limit, and said so.
    store.usage.record(served)
    os.utime(tmp_path / "usage" / served[:2] / served)
    r = prune_store(tmp_path, 0)
    assert r.removed == 0 and r.recent.blobs == 1 and r.over


def test_prune_says_what_it_kept_and_fails_when_over(hub: FakeHub, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    import_folder(Store(store), make_tiny_repo(tmp_path / "src"), parse_repo_id("acme/local"))
    assert main(["mirror", "pin", "acme/tiny", "--storage", str(store), "--upstream", hub.url]) == 0
    assert main(["mirror", "pin", "acme/other", "--storage", str(store), "--upstream", hub.url]) == 0
    # acme/other was pinned, then its pin forgotten: its blobs are plain cache, evictable.
    (Store(store).repo_dir(parse_repo_id("acme/other")) / "pins.json").unlink()
    old = time.time() - 7200
    for p in (store / "blobs").glob("*/*"):
        os.utime(p, (old, old))
    capsys.readouterr()
    code = main(["mirror", "prune", "--storage", str(store), "--max-size", "1K"])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert "not evicted: 4 blobs" in out and "published here (never evicted)" in out
    assert "pinned by `gator mirror pin` (--include-pinned evicts them)" in out
    assert "over --max-size 1K" in err and err.count("\n") == 1
    # acme/other's weights; its small files have the same bytes as pinned or published ones.
    assert out.startswith("removed 1 blobs (48.8 KiB)")
    code = main(["mirror", "prune", "--storage", str(store), "--max-size", "1K", "--include-pinned"])
    out, _ = capsys.readouterr()
    assert code == 1 and out.startswith("removed 2 blobs") and "pinned" not in out
    code = main(["mirror", "prune", "--storage", str(store), "--max-size", "1G"])
    assert code == 0


def test_temp_files_of_killed_transfers_are_removed(tmp_path: Path) -> None:
    store = Store(tmp_path)
    tmp = tmp_path / "tmp"
    (tmp / "0f0f.part").write_bytes(b"x" * 100)  # a transfer killed mid-way
    (tmp / "deleted-1234").mkdir()  # a repo deletion killed before its trash was emptied
    (tmp / "deleted-1234" / "f").write_bytes(b"y")
    (tmp / "resume-ab.part").write_bytes(b"z" * 10)  # an interrupted pin: kept for a day to resume
    live = store.new_blob()  # a transfer in progress in this (or any) process
    live.write(b"live bytes")
    with pytest.raises(Busy):
        BlobWriter(store, resume_path=live.path)  # a second writer of the same file
    cleaned = clean_tmp(tmp_path)
    assert cleaned.files == 2 and cleaned.bytes == 100
    assert live.path.exists() and (tmp / "resume-ab.part").exists()
    assert not (tmp / "0f0f.part").exists() and not (tmp / "deleted-1234").exists()
    live.finish()
    old = time.time() - 2 * 86400
    os.utime(tmp / "resume-ab.part", (old, old))
    assert clean_tmp(tmp_path).files == 1 and not (tmp / "resume-ab.part").exists()
