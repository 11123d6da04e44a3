"""Scan a source tree or a wheel: every file's provider imports and calls, and what does not resolve."""

from __future__ import annotations

import fnmatch
import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gator_setup.analysis.extract import analyze_source, module_name, needs_scan
from gator_setup.analysis.model import FileAnalysis, SourceProblem
from gator_setup.analysis.providers import Providers, Unresolved
from gator_setup.analysis.runtime import file_role

#: Folders never descended into when scanning a project: environments, caches, VCS, build output.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".venvs",
        "env",
        "site-packages",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "build",
        "dist",
        ".eggs",
    }
)
MAX_FILE_BYTES = 8 * 1024 * 1024  # generated files beyond this are not source worth parsing


@dataclass(frozen=True)
class ScanIssue:
    """One unresolved import, with where it is and how the file is used."""

    file: FileAnalysis
    unresolved: Unresolved
    role: str  # "runtime" | "auxiliary"


@dataclass
class ScanResult:
    """The analysed files (only those mentioning a provider) and what does not resolve."""

    files: list[FileAnalysis] = field(default_factory=list)
    issues: list[ScanIssue] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)
    files_seen: int = 0


def needles_for(modules: Iterable[str]) -> tuple[bytes, ...]:
    """Byte strings whose absence proves a file cannot import any of `modules`."""
    return tuple(m.encode() for m in sorted(set(modules)))


def resolve_files(
    files: Iterable[FileAnalysis], providers: Providers, root_rel: bool = True
) -> list[ScanIssue]:
    """Check every import of every file against `providers`."""
    out: list[ScanIssue] = []
    for fa in files:
        for ref in fa.imports:
            u = providers.resolve(ref)
            if u is not None:
                out.append(ScanIssue(fa, u, file_role(fa.path)))
    return out


def iter_tree(root: Path, exclude: Iterable[str] = ()) -> Iterator[tuple[Path, str]]:
    """(file, path relative to root) for every .py file under root, skipping environments and caches."""
    patterns = tuple(exclude)
    if root.is_file():
        yield root, root.name
        return
    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS
            and not d.startswith(".")
            and not d.endswith(".egg-info")
            and not _excluded(os.path.normpath(os.path.join(rel_dir, d)), patterns)
        )
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            rel = os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/")
            if not _excluded(rel, patterns):
                yield Path(dirpath) / name, rel


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    rel = rel.replace(os.sep, "/")
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel + "/", p) for p in patterns)


def analyze_bytes(
    data: bytes, display: str, rel: str, needles: tuple[bytes, ...], watched: frozenset[str]
) -> FileAnalysis | None:
    """Analyse one file's bytes if the pre-filter lets it through."""
    if not needs_scan(data, needles):
        return None
    mod = module_name(rel)
    return analyze_source(
        data,
        display,
        module=mod[0] if mod else None,
        is_package=bool(mod and mod[1]),
        watched=watched,
    )


def scan_files(
    items: Iterable[tuple[str, str, bytes | None, str | None]],
    providers: Providers,
    watched: Iterable[str] | None = None,
) -> ScanResult:
    """Analyse (display path, relative path, bytes or None, read error) items and resolve them."""
    mods = frozenset(watched) if watched is not None else providers.modules
    needles = needles_for(mods)
    result = ScanResult()
    for display, rel, data, error in items:
        result.files_seen += 1
        if data is None:
            result.problems.append(SourceProblem(display, error or "unreadable"))
            continue
        fa = analyze_bytes(data, display, rel, needles, mods)
        if fa is None:
            continue
        if fa.problem is not None:
            result.problems.append(fa.problem)
        if fa.imports or fa.calls:
            result.files.append(fa)
    result.issues = resolve_files(result.files, providers)
    return result


def _read_tree(path: Path, exclude: Iterable[str]) -> Iterator[tuple[str, str, bytes | None, str | None]]:
    for file, rel in iter_tree(path, exclude):
        display = str(file)
        try:
            if file.stat().st_size > MAX_FILE_BYTES:
                yield display, rel, None, f"larger than {MAX_FILE_BYTES // 1048576} MiB; skipped"
                continue
            yield display, rel, file.read_bytes(), None
        except OSError as exc:
            yield display, rel, None, f"unreadable ({exc.strerror or exc}); skipped"


def scan_tree(
    path: str | os.PathLike[str],
    providers: Providers,
    *,
    exclude: Iterable[str] = (),
    watched: Iterable[str] | None = None,
) -> ScanResult:
    """Analyse every .py file under `path` (a folder or one file) against `providers`."""
    return scan_files(_read_tree(Path(path), exclude), providers, watched)


def _read_wheel(path: Path) -> Iterator[tuple[str, str, bytes | None, str | None]]:
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename
            if not name.endswith(".py") or info.is_dir() or ".data/" in name.split("/", 1)[0] + "/":
                continue
            display = f"{path.name}!/{name}"
            if info.file_size > MAX_FILE_BYTES:
                yield display, name, None, "too large; skipped"
                continue
            try:
                yield display, name, zf.read(info), None
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                yield display, name, None, f"unreadable in the archive ({exc}); skipped"


def scan_wheel(
    path: str | os.PathLike[str], providers: Providers, *, watched: Iterable[str] | None = None
) -> ScanResult:
    """Analyse every .py member of a wheel (or any zip of sources) against `providers`.

    Raises zipfile.BadZipFile / OSError for an archive that cannot be opened; callers turn
    that into a one-line error.
    """
    return scan_files(_read_wheel(Path(path)), providers, watched)
