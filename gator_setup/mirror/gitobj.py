"""Git object ids the Hub exposes: blob sha1 (ETag of small files), LFS pointers, trees, commits."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

# Hub's default .gitattributes: these suffixes are stored in LFS whatever their size.
LFS_SUFFIXES = frozenset(
    (
        *(".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".ftz", ".gguf", ".gz", ".h5", ".joblib", ".mlmodel"),
        *(".model", ".msgpack", ".npy", ".npz", ".onnx", ".ot", ".parquet", ".pb", ".pickle", ".pkl"),
        *(".pt", ".pth", ".rar", ".safetensors", ".tar", ".tflite", ".tgz", ".wasm", ".xz", ".zip", ".zst"),
    )
)
LFS_MIN_SIZE = 10 * 1024 * 1024


def is_lfs_path(path: str, size: int) -> bool:
    """Whether the Hub would store this file in LFS (by suffix or size)."""
    name = path.rsplit("/", 1)[-1].lower()
    dot = name.rfind(".")
    return size >= LFS_MIN_SIZE or (dot > 0 and name[dot:] in LFS_SUFFIXES) or "tfevents" in name


def blob_header(size: int) -> bytes:
    """Prefix hashed before the content to get a git blob id."""
    return b"blob %d\x00" % size


def git_blob_sha1(data: bytes) -> str:
    """Git blob id of `data`."""
    return hashlib.sha1(blob_header(len(data)) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The Git LFS pointer file that git would store for this content."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def tree_oid(files: Mapping[str, Mapping[str, Any]]) -> tuple[str, dict[str, str]]:
    """Git tree id of a file map {path: {"oid": ...}} and the ids of every sub-directory."""
    dir_oids: dict[str, str] = {}

    def build(prefix: str, entries: dict[str, Any]) -> str:
        items: list[tuple[bytes, bytes]] = []
        for name, value in entries.items():
            if isinstance(value, dict):
                sub = f"{prefix}{name}"
                oid = build(sub + "/", value)
                dir_oids[sub] = oid
                items.append((name.encode() + b"/", b"40000 " + name.encode() + b"\x00" + bytes.fromhex(oid)))
            else:
                items.append((name.encode(), b"100644 " + name.encode() + b"\x00" + bytes.fromhex(value)))
        # git sorts tree entries as if directory names ended with "/".
        body = b"".join(raw for _, raw in sorted(items, key=lambda kv: kv[0]))
        return hashlib.sha1(b"tree %d\x00" % len(body) + body).hexdigest()

    root: dict[str, Any] = {}
    for path, entry in files.items():
        node = root
        parts = path.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = entry["oid"]
    return build("", root), dir_oids


def commit_oid(tree: str, parents: list[str], message: str, author: str, timestamp: int) -> str:
    """Git commit id for these fields (author = committer)."""
    lines = [f"tree {tree}"] + [f"parent {p}" for p in parents]
    ident = f"{author} <{author}@gator.local> {timestamp} +0000"
    lines += [f"author {ident}", f"committer {ident}", "", message]
    body = ("\n".join(lines) + "\n").encode()
    return hashlib.sha1(b"commit %d\x00" % len(body) + body).hexdigest()
