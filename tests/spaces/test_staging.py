"""Ignore rules, the filled temporary copy and the hashes compared with the Hub's listing."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gator_setup.spaces.staging import collect_files, fill_placeholders, hash_file, human_size, stage_copy


def make(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def test_ignores_vcs_caches_env_and_venvs(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "app.py": b"x",
            "pkg/mod.py": b"y",
            ".git/config": b"",
            "pkg/__pycache__/mod.cpython-311.pyc": b"",
            ".env": b"SECRET=1",
            ".env.local": b"SECRET=1",
            ".venv/bin/python": b"",
            "myenv/pyvenv.cfg": b"home = /usr",
            "myenv/lib/x.py": b"",
            ".cache/huggingface/blob": b"",
            "node_modules/a/index.js": b"",
            "stray.pyc": b"",
        },
    )
    kept, ignored = collect_files(tmp_path)
    assert kept == ["app.py", "pkg/mod.py"]
    assert {
        ".git/",
        ".env",
        ".env.local",
        ".venv/",
        "myenv/",
        ".cache/",
        "node_modules/",
        "stray.pyc",
    } <= set(ignored)
    kept2, _ = collect_files(tmp_path, ("pkg",))
    assert "pkg/mod.py" not in kept2


def test_git_blob_sha1_matches_git(tmp_path: Path) -> None:
    # `printf 'hello\n' | git hash-object --stdin` = ce013625030ba8dba906f756967f9e9ca394464a
    (tmp_path / "f").write_bytes(b"hello\n")
    size, sha256, sha1 = hash_file(tmp_path / "f")
    assert (size, sha1) == (6, "ce013625030ba8dba906f756967f9e9ca394464a")
    assert sha256 == hashlib.sha256(b"hello\n").hexdigest()


def test_fill_only_text_with_placeholders() -> None:
    values = {"{SPACE_ID}": "me/demo"}
    assert fill_placeholders(b"id={SPACE_ID} {OTHER}", values) == b"id=me/demo {OTHER}"
    assert fill_placeholders(b"no placeholder", values) is None
    assert fill_placeholders(b"\0{SPACE_ID}", values) is None  # binary
    assert fill_placeholders(b"\xff{SPACE_ID}", values) is None  # not UTF-8


def test_stage_copy_leaves_source_untouched(tmp_path: Path) -> None:
    src, dest = tmp_path / "src", tmp_path / "dest"
    make(src, {"app.py": b"URL = '{SPACE_URL}'\n", "data.bin": b"\0{SPACE_URL}"})
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    filled = stage_copy(src, dest, ["app.py", "data.bin"], {"{SPACE_URL}": "http://h/spaces/me/demo"})
    assert filled == {"app.py": True, "data.bin": False}
    assert (dest / "app.py").read_text() == "URL = 'http://h/spaces/me/demo'\n"
    assert (dest / "data.bin").read_bytes() == b"\0{SPACE_URL}"
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before


def test_human_size() -> None:
    assert human_size(12) == "12 B"
    assert human_size(1536) == "1.5 KiB"
    assert human_size(3 * 1024 * 1024) == "3.0 MiB"


def test_symlinks_leaving_the_folder_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "space"
    make(root, {"app.py": b"x", "data/inside.txt": b"in"})
    (tmp_path / "id_rsa").write_text("PRIVATE")
    (root / "key").symlink_to(tmp_path / "id_rsa")
    (root / "alias.txt").symlink_to(root / "data" / "inside.txt")
    (root / "home").symlink_to(tmp_path, target_is_directory=True)
    kept, ignored = collect_files(root)
    assert kept == ["alias.txt", "app.py", "data/inside.txt"]
    assert {"key", "home/"} <= set(ignored)
