"""Per-commit tree index: every entry of a commit's tree sorted once, so a listing costs what it returns.

Commits are immutable, so the index of one is built the first time the commit is listed and kept in
a bounded in-process cache (each worker builds its own; building is linear in the commit's files).
Tree pages, paths-info and file lists then slice it: a recursive listing under a folder is one
contiguous run of the sorted paths (found by bisection), a flat listing is the folder's own child list,
and the cursor names the last path a page returned, so the next page starts there, like the Hub's.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from gator_setup.mirror import gitobj

Entry = dict[str, Any]
# Bounds of the cache per worker: total entries across commits (about 250 bytes each; a 50,000-file
# repo has about 51,000 with its folders) and commits. The last index built is always kept.
CACHE_MAX_ENTRIES = 500_000
CACHE_MAX_COMMITS = 256


class BadCursor(ValueError):
    """A cursor this server did not issue."""


def _file_entry(path: str, e: Mapping[str, Any]) -> Entry:
    fe: Entry = {"type": "file", "oid": e["oid"], "size": e["size"], "path": path}
    if e.get("lfs"):
        pointer = len(gitobj.lfs_pointer(str(e["sha256"]), int(e["size"])))
        fe["lfs"] = {"oid": e["sha256"], "size": e["size"], "pointerSize": pointer}
    return fe


class TreeIndex:
    """All files and folders of one commit in the Hub's tree JSON shape, sorted by path."""

    def __init__(self, files: Mapping[str, Mapping[str, Any]]) -> None:
        _, dir_oids = gitobj.tree_oid(files)
        by_path: dict[str, Entry] = {p: _file_entry(p, e) for p, e in files.items()}
        for d, oid in dir_oids.items():
            by_path[d] = {"type": "directory", "oid": oid, "size": 0, "path": d}
        self.by_path = by_path
        self.paths = sorted(by_path)
        self.entries = [by_path[p] for p in self.paths]
        # Folder -> its direct children, in path order (built from the sorted list, so already sorted).
        children: dict[str, list[Entry]] = {"": []}
        for p, entry in zip(self.paths, self.entries, strict=True):
            children.setdefault(p.rpartition("/")[0], []).append(entry)
        self.children = children
        self._child_paths: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, path: str) -> Entry | None:
        """The entry (file or folder) at `path`."""
        return self.by_path.get(path)

    def is_dir(self, path: str) -> bool:
        return path == "" or self.by_path.get(path, {}).get("type") == "directory"

    def file_paths(self) -> list[str]:
        """Every file path, sorted."""
        return [e["path"] for e in self.entries if e["type"] == "file"]

    def page(self, prefix: str, recursive: bool, after: str | None, limit: int) -> tuple[list[Entry], bool]:
        """Entries under folder `prefix` ("" = root) that sort after `after`, at most `limit`, and
        whether more follow."""
        if recursive:
            base = prefix + "/" if prefix else ""
            lo = bisect_left(self.paths, base)
            # Paths starting with "a/b/" are exactly those in ["a/b/", "a/b0"): "0" follows "/".
            hi = bisect_left(self.paths, prefix + "0") if prefix else len(self.paths)
            if after is not None:
                lo = max(lo, bisect_right(self.paths, after, lo, hi))
            end = min(hi, lo + limit)
            return self.entries[lo:end], end < hi
        kids = self.children.get(prefix, [])
        start = 0
        if after is not None:
            names = self._child_paths.get(prefix)
            if names is None:
                names = self._child_paths[prefix] = [e["path"] for e in kids]
            start = bisect_right(names, after)
        return kids[start : start + limit], start + limit < len(kids)


def encode_cursor(last_path: str) -> str:
    """Opaque cursor for the page after `last_path` (the Hub's carries the last file name too)."""
    return base64.urlsafe_b64encode(json.dumps({"file_name": last_path}).encode()).decode()


def decode_cursor(cursor: str) -> str:
    """The path a cursor from `encode_cursor` names; BadCursor otherwise."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        name = data["file_name"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(cursor) from None
    if not isinstance(name, str):
        raise BadCursor(cursor)
    return name


class IndexCache:
    """TreeIndex per (repo, commit), least recently used dropped first; safe across threads."""

    def __init__(self, max_entries: int = CACHE_MAX_ENTRIES, max_commits: int = CACHE_MAX_COMMITS) -> None:
        self.max_entries = max_entries
        self.max_commits = max_commits
        self.builds = 0  # how many indexes were built (tests check an index is built once)
        self._items: OrderedDict[tuple[str, str], TreeIndex] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, repo_key: str, commit: Mapping[str, Any]) -> TreeIndex:
        """The index of `commit` (a stored commit document with `id` and `files`) of repo `repo_key`."""
        if not commit.get("id"):
            return TreeIndex(commit.get("files", {}))
        key = (repo_key, str(commit["id"]))
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        index = TreeIndex(commit.get("files", {}))
        with self._lock:
            self.builds += 1
            if key not in self._items:
                self._items[key] = index
                self._size += len(index)
            while len(self._items) > 1 and (
                self._size > self.max_entries or len(self._items) > self.max_commits
            ):
                _, old = self._items.popitem(last=False)
                self._size -= len(old)
        return index
