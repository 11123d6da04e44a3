"""The files a deploy uploads: ignore rules, a temporary filled copy, sizes and git/LFS hashes."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# Never part of a Space: VCS data, secrets in .env files, virtual environments, build and tool caches.
# A pattern matches any single path component (a folder prunes everything under it).
DEFAULT_IGNORES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".env",
    ".env.*",
    ".venv",
    "venv",
    ".cache",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
    "node_modules",
    "*.egg-info",
    ".DS_Store",
    ".gradio",
)
# Placeholders are only filled in files small enough to be source or config; larger ones are data.
MAX_TEXT_BYTES = 2 * 1024 * 1024
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StagedFile:
    """One file as it will be uploaded (after placeholders were filled)."""

    path: str  # POSIX path inside the Space
    size: int
    sha256: str
    git_sha1: str  # git blob id: what the Hub lists for a regular (non-LFS) file
    filled: bool = False  # placeholders were replaced
    generated: bool = False  # written by gator (README front matter)


def is_ignored(rel_parts: Iterable[str], patterns: Iterable[str]) -> bool:
    """True when any component of the relative path matches one of the patterns."""
    pats = tuple(patterns)
    return any(fnmatch.fnmatchcase(part, pat) for part in rel_parts for pat in pats)


def _is_venv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file()


def _escapes(path: Path, root: Path) -> bool:
    """A symlink leading outside the folder (say to ~/.ssh) is never uploaded."""
    return path.is_symlink() and not path.resolve().is_relative_to(root.resolve())


def collect_files(root: Path, patterns: Iterable[str] = DEFAULT_IGNORES) -> tuple[list[str], list[str]]:
    """(kept, ignored) relative POSIX paths under root; ignored folders are listed once with '/'."""
    pats = tuple(patterns)
    kept: list[str] = []
    ignored: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        rel_dir = base.relative_to(root)
        for d in sorted(dirnames):
            full = base / d
            rel = (rel_dir / d).as_posix()
            # Symlinked folders could point anywhere (home, /): never walked into.
            if full.is_symlink() or is_ignored((d,), pats) or _is_venv(full):
                ignored.append(rel + "/")
                dirnames.remove(d)
        for f in sorted(filenames):
            rel = (rel_dir / f).as_posix()
            if is_ignored((f,), pats) or not (base / f).is_file() or _escapes(base / f, root):
                ignored.append(rel)
            else:
                kept.append(rel)
    return sorted(kept), sorted(ignored)


def hash_file(path: Path) -> tuple[int, str, str]:
    """(size, sha256, git blob sha1), streamed."""
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(b"blob %d\0" % size)
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha256.update(chunk)
            sha1.update(chunk)
    return size, sha256.hexdigest(), sha1.hexdigest()


def fill_placeholders(data: bytes, values: Mapping[str, str]) -> bytes | None:
    """The text with placeholders replaced, or None when it is binary or has none."""
    if len(data) > MAX_TEXT_BYTES or b"\0" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not any(key in text for key in values):
        return None
    for key, value in values.items():
        text = text.replace(key, value)
    return text.encode("utf-8")


def stage_copy(src: Path, dest: Path, files: Iterable[str], values: Mapping[str, str]) -> dict[str, bool]:
    """Copy `files` from src to dest, filling placeholders; returns {path: filled}. src is never written."""
    filled: dict[str, bool] = {}
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        source = src / rel
        new: bytes | None = None
        if source.stat().st_size <= MAX_TEXT_BYTES:
            new = fill_placeholders(source.read_bytes(), values)
        if new is None:
            shutil.copyfile(source, target)
        else:
            target.write_bytes(new)
        filled[rel] = new is not None
    return filled


def describe(root: Path, filled: Mapping[str, bool], generated: Iterable[str] = ()) -> list[StagedFile]:
    """StagedFile rows (sorted) for every file under the staging folder."""
    gen = set(generated)
    rows = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        size, sha256, sha1 = hash_file(path)
        rows.append(StagedFile(rel, size, sha256, sha1, filled.get(rel, False), rel in gen))
    return rows


def human_size(n: int) -> str:
    """1536 -> '1.5 KiB'."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
