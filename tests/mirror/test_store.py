"""The store: git-compatible ids, atomic commits, no empty commits, verification before publication."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from mirror_server import make_tiny_repo

from gator_setup.mirror import gitobj
from gator_setup.mirror.ids import HubError, check_path, check_revision, parse_repo_id
from gator_setup.mirror.store import BlobMismatch, Store, import_folder


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_blob_and_tree_ids_match_real_git(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "config.json").write_text("{}\n")
    (src / "a").mkdir()
    (src / "a" / "b.txt").write_text("hello\n")
    (src / "a-b.txt").write_text("sorting trap: '-' sorts before '/'\n")
    store = Store(tmp_path / "store")
    ref = parse_repo_id("acme/x")
    sha, n = import_folder(store, src, ref)
    commit = store.get_commit(ref, sha)
    assert n == 3 and commit is not None
    _git(src, "init", "-q")
    _git(src, "add", "-A")
    assert commit["tree"] == _git(src, "write-tree")
    for path, entry in commit["files"].items():
        assert entry["oid"] == _git(src, "hash-object", path)


def test_lfs_entry_oid_is_pointer_blob(tmp_path: Path) -> None:
    src = make_tiny_repo(tmp_path / "src", big=1000)
    store = Store(tmp_path / "store")
    ref = parse_repo_id("acme/x")
    sha, _ = import_folder(store, src, ref)
    e = store.get_commit(ref, sha)["files"]["model.safetensors"]  # type: ignore[index]
    assert e["lfs"] is True
    pointer = gitobj.lfs_pointer(e["sha256"], 1000)
    assert e["oid"] == gitobj.git_blob_sha1(pointer)
    assert e["gitsha1"] == gitobj.git_blob_sha1((src / "model.safetensors").read_bytes())


def test_reimport_unchanged_creates_no_commit_and_deletions_apply(tmp_path: Path) -> None:
    src = make_tiny_repo(tmp_path / "src")
    store = Store(tmp_path / "store")
    ref = parse_repo_id("acme/x")
    first, _ = import_folder(store, src, ref)
    again, _ = import_folder(store, src, ref)
    assert first == again
    (src / "README.md").unlink()
    third, _ = import_folder(store, src, ref)
    assert third != first
    c = store.get_commit(ref, third)
    assert c is not None and "README.md" not in c["files"] and c["parents"] == [first]
    assert store.resolve(ref, "main") == third and store.resolve(ref, first) == first


def test_blob_mismatch_is_quarantined_not_published(tmp_path: Path) -> None:
    store = Store(tmp_path)
    w = store.new_blob()
    w.write(b"wrong bytes")
    with pytest.raises(BlobMismatch):
        w.finish(sha256="0" * 64, size=11)
    assert not list((tmp_path / "blobs").glob("*/*"))
    assert len(list((tmp_path / "quarantine").iterdir())) == 1
    assert not list((tmp_path / "tmp").iterdir())
    w = store.new_blob()
    w.write(b"short")
    with pytest.raises(BlobMismatch):
        w.finish(size=6)


@pytest.mark.parametrize(
    "bad", ["../x", "a/../../x", "/etc/passwd", "a//b", "a\\b", "", "a/./b", ".git/config", "a\x00b"]
)
def test_bad_paths_rejected(bad: str) -> None:
    with pytest.raises(HubError) as exc:
        check_path(bad)
    assert exc.value.status == 400


@pytest.mark.parametrize("bad", ["..", "a..b", "/main", "main/", "-x", "a b", "x" * 300, "a//b"])
def test_bad_revisions_rejected(bad: str) -> None:
    with pytest.raises(HubError):
        check_revision(bad)


@pytest.mark.parametrize("bad", ["a", "a/b/c", "../b", "a/..", "a/b.git", "-a/b", "a /b"])
def test_bad_repo_ids_rejected(bad: str) -> None:
    with pytest.raises(HubError):
        parse_repo_id(bad)
