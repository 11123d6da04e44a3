"""The per-tree index of `scan.scan_tree`: what each file (and each installed distribution's
top-level entry) gave last time, as typed records, read from and written to one JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

_new_tuple = tuple.__new__

#: The index's layout; an index of another layout is ignored (the scan starts afresh).
FORMAT = 3


class FileEntry(NamedTuple):
    """A file's entry: the size and mtime it was analysed at and, for a file that matters, its
    analysis and unresolved imports (JSON). Stored as [size, mtime_ns] for a file found irrelevant
    (most files: short entries keep the index small and quick to load), else as all four."""

    size: int
    mtime_ns: int
    analysis: Any = None
    issues: list[Any] | None = None

    @classmethod
    def from_json(cls, raw: Any, *, full: bool = False) -> FileEntry | None:
        """The entry as `to_json` wrote it (only a four-part one with `full`), None if damaged."""
        if type(raw) is not list:
            return None
        if len(raw) == 2 and not full:
            size, mtime_ns = raw
            analysis = issues = None
        elif len(raw) == 4 and type(raw[3]) is list:
            size, mtime_ns, analysis, issues = raw
        else:
            return None
        if type(size) is not int or type(mtime_ns) is not int:
            return None
        # (tuple.__new__: one entry is made per file of a warm scan, and the generated __new__,
        # with its defaults, costs twice as much)
        return _new_tuple(cls, (size, mtime_ns, analysis, issues))

    def to_json(self) -> list[Any]:
        return [self.size, self.mtime_ns] if self.issues is None else list(self)

    @property
    def relevant(self) -> bool:
        """Whether there is an analysis to rebuild from the entry (else the file did not matter)."""
        return self.issues is not None and self.analysis is not None


class Row:
    """A file of a distribution's entry: its path and entry (None: it could not be read). The
    entry is filled in once the file is analysed."""

    __slots__ = ("entry", "rel")

    def __init__(self, rel: str, entry: FileEntry | None = None) -> None:
        self.rel = rel
        self.entry = entry


class DistEntry(NamedTuple):
    """A top-level entry of a packages folder owned by one installed distribution: the owner's
    identity (dist-info name, RECORD [inode, mtime_ns, size]), how many files it holds, and the
    rows of those that are not irrelevant (the others are only counted)."""

    dist: str
    ident: list[int]
    files: int
    rows: list[Row]

    @classmethod
    def from_json(cls, raw: Any) -> DistEntry | None:
        """The entry as `to_json` wrote it, or None for a damaged one."""
        if not (
            isinstance(raw, list) and len(raw) == 4 and isinstance(raw[2], int) and isinstance(raw[3], list)
        ):
            return None
        rows: list[Row] = []
        for row in raw[3]:
            if not (isinstance(row, list) and len(row) == 2 and isinstance(row[0], str)):
                return None
            entry = None if row[1] is None else FileEntry.from_json(row[1], full=True)
            if entry is None and row[1] is not None:
                return None
            rows.append(Row(row[0], entry))
        return cls(raw[0], raw[1], raw[2], rows)

    def to_json(self) -> list[Any]:
        rows = [
            [r.rel, None if r.entry is None else r.entry.to_json()]
            for r in self.rows
            if r.entry is None or r.entry.relevant
        ]
        return [self.dist, self.ident, self.files, rows]


class TreeIndex(NamedTuple):
    """The whole index as read: per-file entries of the files outside any distribution, and
    per-distribution entries by top-level entry, typed when looked up (`unchanged`, `top`: most
    are looked up once); `raw`: the JSON as read (None: none, or unusable)."""

    files: dict[str, Any]
    tops: dict[str, Any]
    raw: Any

    @classmethod
    def load(cls, path: Path) -> TreeIndex:
        """The index in `path` (empty when missing, damaged or of another format)."""
        empty = cls({}, {}, None)
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return empty
        if not isinstance(data, dict) or data.get("v") != FORMAT:
            return empty
        files, tops = data.get("files"), data.get("tops")
        if not isinstance(files, dict) or not isinstance(tops, dict):
            return empty
        return cls(files, tops, data)

    def unchanged(self, rel: str, sig: list[int]) -> FileEntry | None:
        """The entry of the file at `rel` (outside any distribution) when it still has the
        [size, mtime_ns] `sig` it was analysed at; None: a miss (or a damaged entry)."""
        raw = self.files.get(rel)
        if not sig:
            return None
        if raw == sig:  # unchanged and found irrelevant: most files, so made in as few steps
            return _new_tuple(FileEntry, (sig[0], sig[1], None, None))
        return FileEntry.from_json(raw) if type(raw) is list and raw[:2] == sig else None

    def top(self, rel: str) -> DistEntry | None:
        """The entry of the distribution's top-level entry at `rel`, None if none or damaged."""
        return DistEntry.from_json(self.tops.get(rel))

    @staticmethod
    def to_json(files: dict[str, FileEntry], tops: dict[str, DistEntry]) -> dict[str, Any]:
        """The index to write: `files` and `tops` in the JSON layout that `load` reads."""
        return {
            "v": FORMAT,
            # (FileEntry.to_json written out: one entry per file, most of them the short one)
            "files": {rel: [e[0], e[1]] if e[3] is None else list(e) for rel, e in files.items()},
            "tops": {rel: t.to_json() for rel, t in tops.items()},
        }
