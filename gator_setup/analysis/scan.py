"""Scan a source tree or a wheel: every file's provider imports and calls, and what does not resolve."""

from __future__ import annotations

import bisect
import collections
import contextlib
import fnmatch
import gc
import itertools
import operator
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gator_setup.analysis import speedups
from gator_setup.analysis.distlayout import Owner, is_packages_dir, owners
from gator_setup.analysis.needles import NeedleIndex
from gator_setup.analysis.providers import Providers, Unresolved
from gator_setup.analysis.runtime import file_role
from gator_setup.analysis.treeindex import DistEntry, FileEntry, Row, TreeIndex
from gator_setup.cachedir import write_cache_json

if TYPE_CHECKING:
    from gator_setup.analysis.fanout import Child, Fanout
    from gator_setup.analysis.model import FileAnalysis, SourceProblem

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
#: Installed-package metadata folders: never imported (torch's dist-info alone holds 142 folders
#: of licences, walked for nothing on every scan of a site-packages until these were skipped).
METADATA_DIR_SUFFIXES = (".egg-info", ".dist-info")
_SKIP_NAMES = tuple(sorted(SKIP_DIRS))
MAX_FILE_BYTES = 8 * 1024 * 1024  # generated files beyond this are not source worth parsing


class ScanIssue(NamedTuple):
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
    truncated: bool = False


def needles_for(modules: Iterable[str]) -> tuple[bytes, ...]:
    """Byte strings whose absence proves a file cannot import any of `modules`."""
    return tuple(m.encode() for m in sorted(set(modules)))


def resolve_files(
    files: Iterable[FileAnalysis], providers: Providers, root_rel: bool = True
) -> list[ScanIssue]:
    """Check every import of every file against `providers`."""
    out: list[ScanIssue] = []
    for fa in files:
        own = fa.module.split(".", 1)[0] if fa.module else None
        for ref in fa.imports:
            if ref.top == own:
                continue  # a package's imports of itself are not a cross-package compatibility question
            u = providers.resolve(ref)
            if u is not None:
                out.append(ScanIssue(fa, u, file_role(fa.path)))
    return out


def iter_tree(root: Path, exclude: Iterable[str] = ()) -> Iterator[tuple[Path, str]]:
    """(file, path relative to root) for every .py file under root, skipping environments and caches."""
    for item in _walk(root, tuple(exclude)):
        assert not isinstance(item, DistTop)  # only with dist_tops
        yield Path(item[0]), item[1]


class DistTop(NamedTuple):
    """A top-level entry of a packages folder owned by one installed distribution, not walked.

    `scan_tree` reuses its cached per-file results while the owner's identity (`dist`: dist-info
    folder name, `ident`: RECORD [inode, mtime_ns, size]) is unchanged, else walks it then.
    """

    path: str
    rel: str
    dist: str
    ident: list[int]
    is_dir: bool


def _walk(
    root: Path, patterns: tuple[str, ...], layout_dir: Path | None = None, *, dist_tops: bool = False
) -> Iterator[tuple[str, str, os.DirEntry[str] | None] | DistTop]:
    """(path, relative path, dir entry) of .py files, sorted, with os.scandir (its stat is cached).

    With `dist_tops`, an entry of a packages folder (the root or a site-packages / dist-packages
    folder holding *.dist-info) owned by one installed distribution comes as a DistTop instead of
    its files, at the place its files would have come.
    """
    if root.is_file():
        yield str(root), root.name, None
        return
    yield from _walk_dirs([(str(root), "")], patterns, layout_dir, dist_tops)


def _walk_dirs(
    stack: list[tuple[str, str] | DistTop],
    patterns: tuple[str, ...],
    layout_dir: Path | None = None,
    dist_tops: bool = False,
) -> Iterator[tuple[str, str, os.DirEntry[str] | None] | DistTop]:
    while stack:
        top = stack.pop()
        if isinstance(top, DistTop):
            yield top
            continue
        dirpath, rel_dir = top
        try:
            with os.scandir(dirpath) as it:
                entries = sorted(it, key=_entry_name)
        except OSError:
            continue
        # any virtual environment, whatever its name, holds installed packages, and a folder
        # marked CACHEDIR.TAG (a uv or pip cache, a build cache) holds copies (the root is scanned
        # as asked); looked up in the listing at hand rather than with one stat per folder
        if rel_dir and any(_has_file(entries, marker) for marker in ("pyvenv.cfg", "CACHEDIR.TAG")):
            continue
        owned: dict[str, Owner] = {}
        if dist_tops:
            names = [e.name for e in entries]
            if is_packages_dir(rel_dir, names):
                owned = owners(dirpath, names, layout_dir)
        subdirs: list[tuple[str, str] | DistTop] = []
        for e in entries:
            name = e.name
            try:
                is_dir = e.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if name in SKIP_DIRS or name.startswith(".") or name.endswith(METADATA_DIR_SUFFIXES):
                    continue
                rel = rel_dir + name
                if patterns and _excluded(rel, patterns):
                    continue
                owner = owned.get(name)
                if owner is not None:
                    subdirs.append(DistTop(e.path, rel, owner[0], owner[1], True))
                else:
                    subdirs.append((e.path, rel + "/"))
            elif name.endswith(".py"):
                rel = rel_dir + name
                if not (patterns and _excluded(rel, patterns)):
                    owner = owned.get(name)
                    if owner is not None:
                        yield DistTop(e.path, rel, owner[0], owner[1], False)
                    else:
                        yield e.path, rel, e
        stack.extend(reversed(subdirs))


_entry_name = operator.attrgetter("name")


def _has_file(entries: list[os.DirEntry[str]], name: str) -> bool:
    """Whether the sorted listing `entries` holds a file called `name`."""
    i = bisect.bisect_left(entries, name, key=_entry_name)
    return i < len(entries) and entries[i].name == name and _is_file(entries[i])


def _is_file(e: os.DirEntry[str]) -> bool:
    try:
        return e.is_file()
    except OSError:
        return False


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    rel = rel.replace(os.sep, "/")
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel + "/", p) for p in patterns)


#: A file's [size, mtime_ns] as the walk found it (what the per-tree index keys on), or [] until
#: reading the file fills it in place (a cold distribution's files are walked without a stat).
Stat = list[int]
#: A file to analyse: (path, path relative to the scanned root, its Stat).
_File = tuple[str, str, Stat]
#: An entry of scan_tree's plan: a file with its cache hit (or None) and cache slot, or a
#: distribution to walk and analyse afresh.
_Seen = tuple[str, str, Stat, FileEntry | None, Row | None]
_Unit = _Seen | DistTop


def _files(units: Iterable[_Unit]) -> Iterator[_Seen]:
    return (u for u in units if not isinstance(u, DistTop))


#: The triage of a file that needs the full AST analysis (see _Analyzer.triage).
FULL = "full"
Triage = tuple[tuple[str, str | None], ...] | str | None

#: A deep needle: plain bytes, or (bytes, module) when the needle only matters in a file that can
#: refer to that module (it mentions the module, or it is part of that package).
DeepNeedle = bytes | tuple[bytes, str | None]


class FileQuestion(NamedTuple):
    """A question another probe asks of every file the engine reads, while its bytes are at hand
    (one read per file): a file holding all `needles` gets `answer(data)`; a None answer is not
    kept. The needles join the pre-filter's single pass over the file."""

    needles: tuple[bytes, ...]
    answer: Callable[[bytes], Any]


class AnswerError(NamedTuple):
    """The answer of a question that raised on a file: the asking probe reports it; the file's
    own analysis, and every other file's, go on as without the question."""

    error: str


class _Analyzer:
    """The per-file decision shared by tree and wheel scans."""

    def __init__(
        self,
        providers: Providers,
        watched: Iterable[str] | None,
        deep_needles: Iterable[DeepNeedle] | None,
        deep_exempt: Iterable[str] = (),
        question: FileQuestion | None = None,
        asked_only: Iterable[str] = (),
    ) -> None:
        self.providers = providers
        self.question = question
        # files read only for the question: their imports are not analysed
        self.asked_only = frozenset(asked_only)
        self.answers: dict[str, Any] = {}  # rel -> the question's answer (in this process)
        # Packages whose own files never get the deep analysis (a provider's use of its own API)
        self.deep_exempt = frozenset(deep_exempt)
        self.mods = frozenset(watched) if watched is not None else providers.modules
        self.needles = needles_for(self.mods)
        self._mod_needles = tuple((m, m.encode()) for m in sorted(self.mods))
        self._others_memo: dict[str | None, frozenset[str]] = {}
        self._needle = dict(self._mod_needles)
        self._hits: dict[str, int] = {}
        self._ordered: list[tuple[str, bytes]] = list(self._mod_needles)
        self._calls = 0
        # Files containing one of these get the full analysis (imports and calls); None: all files.
        self.deep: tuple[tuple[bytes, str | None], ...] | None = None
        # the same needles grouped by gate: one tuple for any file, one per module
        self._ungated: tuple[bytes, ...] = ()
        self._gated: dict[str, tuple[bytes, ...]] = {}
        if deep_needles is not None:
            self.deep = tuple((n, None) if isinstance(n, bytes) else n for n in deep_needles)
            self._ungated = tuple(n for n, gate in self.deep if gate is None)
            for n, gate in self.deep:
                if gate is not None:
                    self._gated[gate] = (*self._gated.get(gate, ()), n)
        # one pass answers the watched names (and the deep needles any file can need); the gated
        # deep needles matter only in files naming their module, where a second pass answers them
        asked = question.needles if question is not None else ()
        self.index = NeedleIndex([*self.needles, *self._ungated, *asked])
        self._native = self.index.native
        self.gated_index = NeedleIndex(n for needles in self._gated.values() for n in needles)
        # the parsing side of the engine, imported only when a file is to be analysed (a warm run
        # analyses none)
        from gator_setup.analysis.candidates import encoded, import_pairs
        from gator_setup.analysis.extract import top_package

        self._import_pairs = import_pairs
        self._encoded = encoded
        # The top-level package a file belongs to (its imports of that package are not checked)
        self._own_top: Callable[[str], str | None] = top_package
        fast = speedups.native()
        self._utf8: Callable[[bytes], bool] = fast.utf8_valid if fast is not None else _decodes
        self._contains_all: Callable[[bytes, tuple[bytes, ...]], bool] = (
            fast.contains_all if fast is not None else _contains_all
        )
        # Imports only (no deep needle, as the doctor asks) with the C candidate pass: that pass
        # reads each file once without a pre-filter pass before it, which found the same files
        # for more CPU (docs/imports.md, "One engine").
        self._imports_only = self.deep == () and fast is not None
        self.read_file: ReadFile | None = getattr(fast, "read_file", None)
        self.walk_files: WalkFiles | None = getattr(fast, "walk_files", None)

    def _gated_hit(self, data: bytes, named: Callable[[str], bool]) -> bool:
        """True when `data` holds a deep needle whose module it names (searched only then)."""
        wanted = [n for g, needles in self._gated.items() if named(g) for n in needles]
        if not wanted:
            return False
        has = self.gated_index.presence(data)
        return any(has(n) for n in wanted)

    def _others(self, own: str | None) -> frozenset[str]:
        """Watched modules other than `own`."""
        got = self._others_memo.get(own)
        if got is None:
            got = self._others_memo[own] = frozenset(m for m in self.mods if m != own)
        return got

    def _order(self) -> list[tuple[str, bytes]]:
        """Needles, most often found first (re-sorted now and then; results do not depend on it)."""
        self._calls += 1
        if self._calls % 256 == 0:
            self._ordered.sort(key=lambda mb: -self._hits.get(mb[0], 0))
        return self._ordered

    def __call__(self, data: bytes, display: str, rel: str) -> FileAnalysis | None:
        """The file's analysis when it matters (imports to check, calls, or a problem), else None.

        Files containing a deep needle (e.g. a deprecated hub API name) get the full AST analysis.
        Others go through the regex candidate pass and are parsed only when a candidate does not
        resolve.
        """
        return self.judge(data, display, rel, self.triage(data, rel))

    def judge(self, data: bytes, display: str, rel: str, triage: Triage) -> FileAnalysis | None:
        """The file's analysis given its triage: parsed unless nothing is to check or every
        candidate resolves."""
        if triage is None or (isinstance(triage, tuple) and self.all_resolve(triage)):
            return None
        return self.parse(data, display, rel)

    def triage_asked(self, data: bytes, rel: str) -> tuple[Triage, Any]:
        """The file's triage (None for a file read only for the question) and the question's
        answer (None: no question, the needles are not all there, or nothing to keep)."""
        question = self.question
        if question is None:
            return self.triage(data, rel), None
        asked_only = rel in self.asked_only
        found = None
        if self._native and not (asked_only or self._imports_only):
            found = self.index.present(data)  # (the triage's pre-filter pass answers both)
            holds = all(n in found for n in question.needles)
        else:
            holds = self._contains_all(data, question.needles)
        answer = None
        if holds:
            try:
                answer = question.answer(data)
            except Exception as exc:  # another probe's bug must not sink the import analysis
                answer = AnswerError(f"{type(exc).__name__}: {exc}")
        if asked_only:
            return None, answer
        return self.triage(data, rel, found), answer

    def parse(self, data: bytes, display: str, rel: str) -> FileAnalysis | None:
        """The AST analysis of a file, when it holds anything (imports, calls or a problem)."""
        fa = _analyze(data, display, rel, self.mods)
        return fa if fa.imports or fa.calls or fa.problem else None

    def all_resolve(self, pairs: Iterable[tuple[str, str | None]]) -> bool:
        """True when every (module, name) candidate resolves against the providers."""
        resolves = self.providers.resolves
        return all(resolves(module, name) for module, name in pairs)

    def triage(self, data: bytes, rel: str, found: frozenset[bytes] | None = None) -> Triage:
        """What the file needs, decided without asking the providers: None (nothing: no watched
        name, or only imports of the file's own package), FULL (the AST analysis: a deep needle, or
        text that does not decode), or the (module, name) candidates that must all resolve for the
        file not to matter (else it gets the AST analysis)."""
        if self.deep is None:
            # Every file naming a watched module is analysed (see _decide). Only what-if and the
            # builder ask this, of a few names, which `in` finds sooner than the native search
            # (docs/imports.md, "One engine").
            has = data.__contains__
            return FULL if any(has(n) for n in self.needles) else None
        if self._imports_only:
            return self._import_triage(data, rel)
        if self._native:
            # one native pass answers every name: most files hold no watched name at all
            # (`found`: that pass's answer, when the question already asked it)
            if found is None:
                found = self.index.present(data)
            if not found:
                return None
            own = self._own_top(rel)
            others = [b for m, b in self._mod_needles if m != own and b in found]
            if not others and (own is None or self._needle.get(own) not in found):
                return None  # only the file's own package is named
            return self._decide(data, own, others, found.__contains__)
        own = self._own_top(rel)
        has = data.__contains__
        # Which watched names the file contains, asking as little as possible: without the native
        # search each absent name costs a scan of the whole file, so the questions stop at the
        # first name found (in the order names have been found so far) and no name is asked twice.
        other = False
        for m, b in self._order():
            if m != own and has(b):
                self._hits[m] = self._hits.get(m, 0) + 1
                other = True
                break
        if not other and not (own in self._needle and has(self._needle[own])):
            return None  # no watched name at all
        return self._decide(data, own, None if other else [], has)

    def _import_triage(self, data: bytes, rel: str) -> Triage:
        """`triage` without deep needles, by the C candidate pass alone: a file naming no watched
        module has no candidate, and its line test finds the names it would be told were present.
        The only answer that needs a name's presence, that of a file that does not decode (FULL
        when it names a watched module), is asked only of such a file."""
        # (ASCII is UTF-8: the C check reads ASCII runs sixteen bytes at a time, no isascii first)
        if not self._utf8(data) and b"coding" not in data[:200]:
            return FULL if any(n in data for n in self.needles) else None
        others = self._others(self._own_top(rel))
        return self._import_pairs(data, others, self._encoded(others)) or None

    def _decide(
        self, data: bytes, own: str | None, others: list[bytes] | None, has: Callable[[bytes], bool]
    ) -> Triage:
        """triage, once the file is known to hold a watched name. `others`: the names of the
        watched modules other than `own` that it holds, or None when some are (not all asked)."""
        if self.deep is None:
            return FULL

        def named(g: str) -> bool:
            if g == own:
                return True  # a file can refer to its own package (relative imports)
            needle = self._needle.get(g)
            if needle is None:
                return False
            return has(needle) if others is None else needle in others

        if own not in self.deep_exempt and (
            any(has(n) for n in self._ungated) or self._gated_hit(data, named)
        ):
            return FULL
        # Not parsed (that is the point of this path), but undecodable text is cheap to notice and
        # worth reporting. Syntax errors only show when a file is parsed.
        # (ASCII is UTF-8, and isascii costs no copy, unlike decode)
        if not data.isascii() and not self._utf8(data) and b"coding" not in data[:200]:
            return FULL
        if others is not None and not others:
            return None
        # A candidate names a module whose bytes are in the file, so the candidate pass is needed
        # only when a watched module other than the file's own package is named; filtering by all
        # of them gives the same candidates.
        return self._import_pairs(data, self._others(own), others) or None


def _native_read() -> ReadFile | None:
    """speedups' read_file, when built (not on Windows)."""
    return getattr(speedups.native(), "read_file", None)


def _contains_all(data: bytes, needles: tuple[bytes, ...]) -> bool:
    """speedups.contains_all in Python."""
    return all(n in data for n in needles)


def _decodes(data: bytes) -> bool:
    """True when `data` is UTF-8 (speedups.utf8_valid, in Python)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _analyze(data: bytes, display: str, rel: str, watched: frozenset[str]) -> FileAnalysis:
    from gator_setup.analysis.extract import analyze_source, module_name

    mod = module_name(rel)
    return analyze_source(
        data,
        display,
        module=mod[0] if mod else None,
        is_package=bool(mod and mod[1]),
        watched=watched,
    )


def _collect(result: ScanResult, fa: FileAnalysis | None) -> None:
    if fa is None:
        return
    if fa.problem is not None:
        result.problems.append(fa.problem)
    if fa.imports or fa.calls:
        result.files.append(fa)


def scan_files(
    items: Iterable[tuple[str, str, bytes | None, str | None]],
    providers: Providers,
    watched: Iterable[str] | None = None,
    max_files: int | None = None,
    deep_needles: Iterable[DeepNeedle] | None = None,
    deep_exempt: Iterable[str] = (),
) -> ScanResult:
    """Analyse (display path, relative path, bytes or None, read error) items and resolve them."""
    from gator_setup.analysis.model import SourceProblem

    analyze = _Analyzer(providers, watched, deep_needles, deep_exempt)
    result = ScanResult()
    for display, rel, data, error in items:
        if max_files is not None and result.files_seen >= max_files:
            result.truncated = True
            break
        result.files_seen += 1
        if data is None:
            result.problems.append(SourceProblem(display, error or "unreadable"))
            continue
        _collect(result, analyze(data, display, rel))
    result.issues = resolve_files(result.files, providers)
    return result


#: speedups' walk_files: a folder's .py files as _walk_top lists them, or None
WalkFiles = Callable[[str, str, tuple[str, ...], tuple[str, ...]], list[_File] | None]
#: speedups' read_file: (data or None, size, mtime_ns, errno) of a file
ReadFile = Callable[[str | Path, int], tuple[bytes | None, int, int, int]]


def _read_one(
    file: str | Path, sig: Stat | None = None, read_file: ReadFile | None = None
) -> tuple[bytes | None, str | None]:
    """The file's bytes (or why not). `sig`: the [size, mtime_ns] the walk found, or an empty
    list that the opened file's own stat fills in (cold distributions are walked without one).
    `read_file`: the C helper doing the same (speedups), when built."""
    if read_file is not None:
        data, size, mtime_ns, err = read_file(file, MAX_FILE_BYTES)
        if size >= 0 and sig is not None and not sig:
            sig += [size, mtime_ns]
        if err:
            return None, _unreadable(file, os.strerror(err))
        if data is None:
            return None, f"larger than {MAX_FILE_BYTES // 1048576} MiB; skipped"
        return data, None
    try:
        fd = os.open(file, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            if sig is not None and not sig:
                sig += [st.st_size, st.st_mtime_ns]
            if st.st_size > MAX_FILE_BYTES:
                return None, f"larger than {MAX_FILE_BYTES // 1048576} MiB; skipped"
            # One read of the known size (plus one byte to see a file that grew meanwhile).
            data = os.read(fd, st.st_size + 1)
            if len(data) > st.st_size:
                chunks = [data]
                while chunk := os.read(fd, 1 << 20):
                    chunks.append(chunk)
                data = b"".join(chunks)
        finally:
            os.close(fd)
        return data, None
    except OSError as exc:
        return None, _unreadable(file, exc.strerror or str(exc))


def _unreadable(file: str | Path, why: str) -> str:
    if os.path.islink(file) and not os.path.exists(file):
        return "broken symbolic link; skipped"
    return f"unreadable ({why}); skipped"


def _read_tree(path: Path, exclude: Iterable[str]) -> Iterator[tuple[str, str, bytes | None, str | None]]:
    read_file = _native_read()
    for file, rel in iter_tree(path, exclude):
        data, error = _read_one(file, None, read_file)
        yield str(file), rel, data, error


#: (path, relative path, [size, mtime_ns] or [] when stat failed) of each file, or a DistTop in its
#: files' place, and "truncated"
Walked = tuple[list[_File | DistTop], bool]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a scan runs (used as a decorator). A scan's objects
    form no cycles to speak of, and each collection walks every object of the process (in a
    forked worker, copying the pages it touches); a cold scan of a site-packages ran nearly two
    hundred collections for nothing (docs/imports.md)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@gc_paused()
def walk_stats(
    root: Path,
    exclude: Iterable[str] = (),
    max_files: int | None = None,
    *,
    dist_tops: bool = False,
    layout_dir: Path | None = None,
) -> Walked:
    """The tree's .py files in scan order with their size and mtime (what the per-file cache keys on).

    With `dist_tops` (not with `max_files`), an installed distribution's top-level entries come
    as DistTop, neither walked nor stat'ed; `layout_dir` caches which distribution owns what.
    """
    out: list[_File | DistTop] = []
    for item in _walk(root, tuple(exclude), layout_dir, dist_tops=dist_tops and max_files is None):
        if max_files is not None and len(out) >= max_files:
            return out, True
        out.append(item if isinstance(item, DistTop) else _with_stat(item))
    return out, False


def _with_stat(item: tuple[str, str, os.DirEntry[str] | None]) -> _File:
    path, rel, entry = item
    try:
        st = entry.stat() if entry is not None else os.stat(path)
    except OSError:
        return path, rel, []
    return path, rel, [st.st_size, st.st_mtime_ns]


def _walk_top(top: DistTop, patterns: tuple[str, ...], walk_files: WalkFiles | None = None) -> list[_File]:
    """A distribution's top-level entry walked as the plain walk would have, each file with an
    empty [size, mtime_ns] that reading it fills in (one stat fewer per file). `walk_files`: the
    C helper doing the same walk (speedups), when built; it leaves exclude patterns to Python."""
    if not top.is_dir:
        return [(top.path, top.rel, [])]
    if walk_files is not None and not patterns:
        got = walk_files(top.path, top.rel + "/", _SKIP_NAMES, METADATA_DIR_SUFFIXES)
        if got is not None:  # (None: a name that is not UTF-8, left to the Python walk)
            return got
    out: list[_File] = []
    for item in _walk_dirs([(top.path, top.rel + "/")], patterns):
        assert not isinstance(item, DistTop)
        out.append((item[0], item[1], []))
    return out


@gc_paused()
def scan_tree(
    path: str | os.PathLike[str],
    providers: Providers,
    *,
    exclude: Iterable[str] = (),
    watched: Iterable[str] | None = None,
    max_files: int | None = None,
    cache_file: Path | None = None,
    deep_needles: Iterable[DeepNeedle] | None = None,
    deep_exempt: Iterable[str] = (),
    workers: int | None = None,
    walked: Walked | None = None,
    layout_dir: Path | None = None,
) -> ScanResult:
    """Analyse every .py file under `path` (a folder or one file) against `providers`.

    With `cache_file`, a file whose size and mtime are unchanged since the last scan (against
    the same providers: the caller puts their versions in the cache file's name) is not read,
    and the files of an installed distribution whose identity (dist-info name, RECORD inode,
    mtime and size) is unchanged are not even walked or stat'ed (`walk_stats(dist_tops=True)`).
    `deep_exempt`: top-level packages whose own files skip the deep analysis (`deep_needles`).
    `workers`: processes analysing the files that miss the cache (None: one per CPU, at most
    MAX_PROCESSES; 1: this process only). `walked`: `walk_stats(path, exclude, max_files,
    dist_tops=True, layout_dir=...)`, when the caller already has it (it walks while another
    thread asks the interpreter for its providers). `layout_dir`: where the walk caches which
    distribution owns which top-level entry.
    """
    root = Path(path)
    if cache_file is None:
        return scan_files(_read_tree(root, exclude), providers, watched, max_files, deep_needles, deep_exempt)
    old = TreeIndex.load(cache_file)
    new_files: dict[str, FileEntry] = {}
    new_tops: dict[str, DistEntry] = {}
    result = ScanResult()
    # First the walk and the cache look-ups (cheap), then the files that miss the cache: those are
    # analysed in forked child processes too when there are enough of them to pay for the start-up.
    # The files of an installed distribution's top-level entry are kept under that entry with the
    # owner's identity (treeindex.DistEntry), the others by relative path (treeindex.FileEntry).
    if walked is None:
        walked = walk_stats(root, exclude, max_files, dist_tops=True, layout_dir=layout_dir)
    stats, result.truncated = walked
    patterns = tuple(exclude)
    root_s = str(root)
    # The files that need more than their cache entry (misses, and unchanged files with an
    # analysis to rebuild), in walk order, each with its row in a distribution's entry (None for a
    # file outside any), and the distributions to walk and analyse afresh in their files' place.
    seen: list[_Unit] = []
    cold: list[DistTop] = []  # distributions walked and analysed afresh
    files_seen = 0
    unchanged = old.unchanged
    for item in stats:
        if not isinstance(item, DistTop):
            files_seen += 1
            path, rel, sig = item
            hit = unchanged(rel, sig)
            if hit is not None and not hit.relevant:
                new_files[rel] = hit  # most files: unchanged and irrelevant, nothing to rebuild
            else:
                seen.append((path, rel, sig, hit, None))
            continue
        cached = old.top(item.rel)
        if cached is not None and (cached.dist, cached.ident) == (item.dist, item.ident):
            # The distribution is unchanged (same name, version and RECORD): its files are taken
            # from the cache, neither walked nor stat'ed (an in-place edit shows after a reinstall).
            # Only the files that matter are listed (irrelevant ones are just counted).
            new_tops[item.rel] = cached
            files_seen += cached.files
            for row in cached.rows:
                file = os.path.join(root_s, row.rel)
                if row.entry is not None:
                    seen.append((file, row.rel, [row.entry.size, row.entry.mtime_ns], row.entry, row))
                else:  # unreadable last time: tried again, as any file outside a distribution
                    seen.append((file, row.rel, _with_stat((file, row.rel, None))[2], None, row))
            continue
        # New, upgraded or reinstalled (pip rewrites every file, so no per-file entry would
        # still match): walked and analysed file by file, where the files are analysed (the
        # walk then overlaps the analysis), and put here in walk order afterwards.
        new_tops[item.rel] = DistEntry(item.dist, item.ident, 0, [])
        cold.append(item)
        seen.append(item)
    misses = [(path, rel, sig) for path, rel, sig, hit, _row in _files(seen) if hit is None]
    fresh: dict[str, _Fresh] = {}
    cold_files: dict[str, list[_File]] = {}
    if misses or cold:  # (a warm run of an unchanged tree builds no analyzer: nothing to analyse)
        analyze = _Analyzer(providers, watched, deep_needles, deep_exempt)
        fresh, cold_files = _analyze_misses(misses, analyze, workers, cold, patterns)
    in_order: list[_Seen] = []
    for unit in seen:
        if not isinstance(unit, DistTop):
            in_order.append(unit)
            continue
        walked_files = cold_files[unit.rel]
        rows = new_tops[unit.rel].rows
        for file, rel, sig in walked_files:
            got = fresh[rel]
            if sig and got[0] is None and not got[1] and got[2] is None:
                continue  # read and found irrelevant (most files): only counted, no row to keep
            row = Row(rel)
            rows.append(row)
            in_order.append((file, rel, sig, None, row))
        new_tops[unit.rel] = new_tops[unit.rel]._replace(files=len(walked_files))
        files_seen += len(walked_files)
    result.files_seen = files_seen
    if in_order:  # (the analysis model: not needed by a warm run that has nothing to rebuild)
        from gator_setup.analysis.model import FileAnalysis, SourceProblem
    for path, rel, sig, hit, slot in in_order:
        entry: FileEntry | None = None
        if hit is not None:
            entry = hit
            fa: FileAnalysis | None = FileAnalysis.from_json(hit.analysis)
            issues = _issues_from_json(fa, hit.issues or [], providers)
        else:
            fa, issues, error = fresh[rel]
            if error is not None:
                result.problems.append(SourceProblem(path, error))
                continue
            if sig:
                entry = (
                    FileEntry(sig[0], sig[1])
                    if fa is None and not issues
                    else FileEntry(
                        sig[0],
                        sig[1],
                        None if fa is None else fa.to_json(),
                        [_issue_to_json(i) for i in issues],
                    )
                )
        if entry is not None:
            if slot is None:
                new_files[rel] = entry
            else:
                slot.entry = entry
        _collect(result, fa)
        result.issues.extend(issues)
    new = TreeIndex.to_json(new_files, new_tops)
    if not result.truncated and new != old.raw:
        write_cache_json(cache_file, new)
    return result


class FileResult(NamedTuple):
    """What the engine made of one file: its analysis when it matters (imports to check, calls,
    or a problem), its unresolved imports, or why it could not be read."""

    analysis: FileAnalysis | None
    issues: list[ScanIssue]
    error: str | None
    answer: Any = None  # the FileQuestion's answer, when one was asked


@gc_paused()
def analyze_files(
    files: Sequence[tuple[str, str]],
    providers: Providers,
    *,
    watched: Iterable[str] | None = None,
    deep_needles: Iterable[DeepNeedle] | None = None,
    deep_exempt: Iterable[str] = (),
    workers: int | None = None,
    question: FileQuestion | None = None,
    asked_only: Sequence[tuple[str, str]] = (),
) -> dict[str, FileResult]:
    """Each listed file's result by relative path: `files` are (path, path relative to its
    packages folder) pairs, such as an installed distribution's RECORD lists them.

    The same triage, parse, verdicts and executor as `scan_tree`, without its walk and its
    per-tree index (the caller keeps its own cache). `deep_needles=()`: imports only, no
    deprecated-API analysis. `question` is asked of every file read, those of `files` and those
    of `asked_only` (read for it alone); its answers are in the results.
    """
    only: list[_File] = [(path, rel, []) for path, rel in asked_only]
    analyze = _Analyzer(providers, watched, deep_needles, deep_exempt, question, (r for _p, r, _s in only))
    fresh, _cold = _analyze_misses([*((path, rel, []) for path, rel in files), *only], analyze, workers)
    answers = analyze.answers
    return {rel: FileResult(*got, answers.get(rel)) for rel, got in fresh.items()}


#: Below this many files to analyse, worker processes cost more (start-up, results sent back) than
#: they save; a warm scan or a small project stays in one process.
PARALLEL_MIN_FILES = 400
# Files per triage task sent to a child: small enough that the work ends evenly, large enough
# that sending tasks and replies costs little. The parent takes smaller tasks for itself, so that
# it answers the children's replies (and feeds them) often.
_CHUNK = 200
_OWN_CHUNK = 32
# Tasks outstanding per child: one to work on, the others waiting. With two, a child ran dry
# whenever the parent spent more than one task's time on its own work (a file to parse, a provider
# module to read; docs/imports.md says how long). More in flight would leave the parent idle at
# the end instead, waiting for the tasks queued at the child, so tasks shrink once the end of the
# walk is in sight (_TAIL_SPLIT).
_AHEAD = 4
# Files walked ahead of the tasks made so far: the end of the walk, and so how much work is left,
# is known that many files before the work ends.
_WALK_AHEAD = 1024
# Once the walk is over, a task takes at most this fraction of the files left (at least one): the
# queues shrink with the work, and the processes run out of it together.
_TAIL_SPLIT = 8
# Files whose candidates fail are parsed in tasks of at most this many.
_CHUNK_MIN = 16
#: The most processes a scan uses (this one included): the work per file is small, and each
#: child is a fork of this process.
MAX_PROCESSES = 4

_Fresh = tuple["FileAnalysis | None", list[ScanIssue], str | None]
# (read error, triage, [size, mtime_ns] read, the AST analysis of a FULL file, the question's answer)
_Triaged = tuple[str | None, Triage, Stat, "FileAnalysis | None", Any]
_Parsed = tuple["FileAnalysis | None", str | None]  # (the AST analysis, read error)
_worker_analyzer: _Analyzer | None = None  # set in the parent just before the children fork


def _analyze_one(analyze: _Analyzer, path: str, rel: str, sig: Stat) -> _Fresh:
    data, error = _read_one(path, sig, analyze.read_file)
    if data is None:
        return None, [], error or "unreadable"
    triage, answer = analyze.triage_asked(data, rel)
    if answer is not None:
        analyze.answers[rel] = answer
    return _resolved(analyze, analyze.judge(data, path, rel, triage))


def _resolved(analyze: _Analyzer, fa: FileAnalysis | None, error: str | None = None) -> _Fresh:
    """A file's analysis with its imports resolved (in the process that holds the verdicts)."""
    if error is not None:
        return None, [], error
    return fa, resolve_files([fa], analyze.providers) if fa is not None else [], None


def _parse_one(analyze: _Analyzer, path: str, rel: str, sig: Stat) -> _Parsed:
    data, error = _read_one(path, sig, analyze.read_file)
    if data is None:
        return None, error or "unreadable"
    return analyze.parse(data, path, rel), None


def _default_workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return min(n, MAX_PROCESSES)


def _analyze_misses(
    misses: list[_File],
    analyze: _Analyzer,
    workers: int | None,
    cold: Sequence[DistTop] = (),
    patterns: tuple[str, ...] = (),
) -> tuple[dict[str, _Fresh], dict[str, list[_File]]]:
    """Each file's (analysis, issues, read error) by relative path, for the missed files and the
    files of the `cold` distributions (walked here: their files are the second result).

    `workers`: the processes that analyse, this one included (None: one per CPU, at most
    MAX_PROCESSES; 1: the serial loop). On Linux, with several, one thread and at
    least PARALLEL_MIN_FILES files, `workers - 1` forked children and this process triage the
    files (read, pre-filter, candidate imports: `_Analyzer.triage`, and the AST analysis of the
    files that need it whatever the verdicts) while this process walks the rest, and this
    process judges every file's candidates as they come, once per (module, name) for all of them;
    the files whose candidates fail get the full analysis. The results are the serial loop's.
    """
    if workers is None:
        workers = _default_workers()
    cold_files: dict[str, list[_File]] = {}

    def work() -> Iterator[_File]:
        yield from misses
        for top in cold:
            files = cold_files[top.rel] = []
            for item in _walk_top(top, patterns, analyze.walk_files):
                files.append(item)
                yield item

    todo = work()
    done: list[_File] = []
    # fork only from a single-threaded process (a lock held by another thread would be copied
    # locked), and only on Linux, where fork is safe (macOS system libraries are not fork-safe)
    if workers > 1 and sys.platform.startswith("linux") and threading.active_count() == 1:
        for item in todo:
            done.append(item)
            if len(done) >= PARALLEL_MIN_FILES:
                got = _analyze_parallel(done, todo, analyze, workers - 1)
                if got is not None:
                    return got, cold_files
                break
    for item in todo:  # the serial loop (or the rest of the walk when no child could be forked)
        done.append(item)
    return {rel: _analyze_one(analyze, path, rel, sig) for path, rel, sig in done}, cold_files


class _Task(NamedTuple):
    """Work for one process: triage the walked files [lo, hi), or parse `parse` (files whose
    candidates failed)."""

    lo: int = 0
    hi: int = 0
    parse: list[_File] | None = None


def _analyze_parallel(
    done: list[_File], todo: Iterator[_File], analyze: _Analyzer, children: int
) -> dict[str, _Fresh] | None:
    """`_analyze_misses` with `children` forked processes working beside this one; None when
    none could be forked. `done` (files walked so far) gets the rest of `todo` as it is walked."""
    from gator_setup.analysis.fanout import Fanout

    global _worker_analyzer
    _worker_analyzer = analyze
    try:
        fan = Fanout(children, _serve)
    except OSError:
        return None
    finally:
        _worker_analyzer = None
    try:
        return _Parallel(fan, done, todo, analyze).run()
    finally:
        fan.close()


class _Parallel:
    """The state of one `_analyze_parallel`: the walk so far, each child's tasks, the results."""

    def __init__(self, fan: Fanout, done: list[_File], todo: Iterator[_File], analyze: _Analyzer) -> None:
        self.fan = fan
        self.done = done
        self.todo = todo
        self.analyze = analyze
        self.out: dict[str, _Fresh] = {}
        self.pending: collections.deque[_File] = collections.deque()  # files whose candidates failed
        self.returned: collections.deque[_Task] = collections.deque()  # tasks of a child that was lost
        self.sent: dict[Child, collections.deque[_Task]] = {c: collections.deque() for c in fan.children}
        self.walked = 0  # done[:walked] are in tasks
        self.walked_all = False
        # A child's task, pickled, stays under 1/_AHEAD of its pipe's capacity (see
        # Fanout.pipe_bytes): paths are counted in characters, at most 4 bytes each once pickled,
        # with some room for the message's own framing. A lost child's tasks, given to the others,
        # were made under the same bound.
        self.task_chars = (fan.pipe_bytes // _AHEAD - 512) // 4

    def run(self) -> dict[str, _Fresh]:
        """Every file's result, once the walk is over and no task is left anywhere."""
        while True:
            self.feed()
            self.replies(0)
            self.walk(_WALK_AHEAD, _CHUNK)  # a step at a time, between the parent's own tasks
            task = self.next_task(_OWN_CHUNK, 1)
            if task is not None:  # work of this process's own, between the children's replies
                self.take(task, _serve(self.payload(task), self.analyze))
            elif any(self.sent.values()):
                self.replies(None)
            else:
                return self.out

    def feed(self) -> None:
        """Keep every child busy: up to _AHEAD tasks each."""
        from gator_setup.analysis.fanout import ChildLost

        for child in list(self.fan.children):
            queue = self.sent[child]
            while len(queue) < _AHEAD:
                task = self.next_task(_CHUNK, _CHUNK_MIN)
                if task is None:
                    break
                queue.append(task)
                try:
                    self.fan.send(child, self.payload(task))
                except ChildLost:
                    self.returned.extend(self.sent.pop(child))
                    break

    def bounded(self, files: Sequence[_File], most: int) -> int:
        """How many of `files` (at least one, at most `most`) fit in one task."""
        n = chars = 0
        for path, rel, _sig in files[:most]:
            chars += len(path) + len(rel) + 16
            if chars > self.task_chars and n:
                break
            n += 1
        return n

    def walk(self, files: int, step: int | None = None) -> None:
        """Walk on until `files` files are walked but not yet in a task (or the walk ends), at
        most `step` files this time."""
        want = files - (len(self.done) - self.walked)
        if step is not None:
            want = min(want, step)
        if not self.walked_all and want > 0:
            before = len(self.done)
            self.done.extend(itertools.islice(self.todo, want))
            self.walked_all = len(self.done) - before < want

    def next_task(self, files: int, parse: int) -> _Task | None:
        """A lost child's task, else the next `files` files of the walk (fewer near the end:
        _TAIL_SPLIT), else up to `parse` of the files whose candidates failed (once every file is
        triaged); fewer when their paths are long (see task_chars)."""
        if self.returned:
            return self.returned.popleft()
        self.walk(files)
        done = self.done
        if self.walked < len(done):
            if self.walked_all:
                files = min(files, max(1, (len(done) - self.walked) // _TAIL_SPLIT))
            lo = self.walked
            self.walked += self.bounded(done[lo : lo + files], files)
            return _Task(lo, self.walked)
        pending = self.pending
        if pending:
            n = self.bounded(list(itertools.islice(pending, parse)), parse)
            return _Task(parse=[pending.popleft() for _ in range(n)])
        return None

    def take(self, task: _Task, rows: list[Any]) -> None:
        """Keep a task's rows: results, or files to parse (their candidates failed)."""
        analyze, out = self.analyze, self.out
        if task.parse is not None:
            out.update(
                (rel, _resolved(analyze, *r)) for (_p, rel, _s), r in zip(task.parse, rows, strict=True)
            )
            return
        for item, (error, triage, sig, fa, answer) in zip(self.done[task.lo : task.hi], rows, strict=True):
            if not item[2]:
                item[2][:] = sig  # the stat of the file read (cold distributions)
            if answer is not None:
                analyze.answers[item[1]] = answer
            if error is not None:
                out[item[1]] = (None, [], error)
            elif triage == FULL:
                out[item[1]] = _resolved(analyze, fa)
            elif triage is None or (isinstance(triage, tuple) and analyze.all_resolve(triage)):
                out[item[1]] = (None, [], None)
            else:
                self.pending.append(item)

    def payload(self, task: _Task) -> tuple[str, list[_File]]:
        return ("parse", task.parse) if task.parse is not None else ("triage", self.done[task.lo : task.hi])

    def replies(self, timeout: float | None) -> None:
        """Take the replies waiting (after at most `timeout` seconds; None: until one comes)."""
        from gator_setup.analysis.fanout import ChildLost

        for child in self.fan.ready(timeout):
            queue = self.sent[child]
            try:
                rows = self.fan.receive(child)
            except ChildLost:
                self.returned.extend(self.sent.pop(child))  # its tasks are done here (or by the others)
                continue
            self.take(queue.popleft(), rows)


def _serve(task: tuple[str, list[_File]], analyze: _Analyzer | None = None) -> list[Any]:
    """A task's rows: each file's _Triaged, or each file's _Parsed (in a child: its analyzer)."""
    analyze = analyze or _worker_analyzer
    assert analyze is not None
    kind, files = task
    if kind == "triage":
        return [_triage_one(analyze, *item) for item in files]
    return [_parse_one(analyze, *item) for item in files]


def _triage_one(analyze: _Analyzer, path: str, rel: str, sig: Stat) -> _Triaged:
    data, error = _read_one(path, sig, analyze.read_file)
    if data is None:
        return error or "unreadable", None, sig, None, None
    triage, answer = analyze.triage_asked(data, rel)
    # a file needing the AST analysis whatever the verdicts is parsed here, its bytes at hand (its
    # imports are resolved by the parent, which holds the verdicts)
    return None, triage, sig, analyze.parse(data, path, rel) if triage == FULL else None, answer


def _issue_to_json(i: ScanIssue) -> list[Any]:
    u = i.unresolved
    return [u.ref.to_json(), u.kind, u.missing]


def _issues_from_json(fa: FileAnalysis | None, rows: list[Any], providers: Providers) -> list[ScanIssue]:
    from gator_setup.analysis.model import ImportRef

    out = []
    for ref_json, kind, missing in rows:
        ref = ImportRef.from_json(ref_json)
        provider = providers.by_module.get(ref.top)
        if fa is None or provider is None:
            continue
        out.append(ScanIssue(fa, Unresolved(ref, provider, kind, missing), file_role(fa.path)))
    return out


def _read_wheel(path: Path) -> Iterator[tuple[str, str, bytes | None, str | None]]:
    import zipfile

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
    path: str | os.PathLike[str],
    providers: Providers,
    *,
    watched: Iterable[str] | None = None,
    deep_needles: Iterable[DeepNeedle] | None = None,
    deep_exempt: Iterable[str] = (),
) -> ScanResult:
    """Analyse every .py member of a wheel (or any zip of sources) against `providers`.

    Raises zipfile.BadZipFile / OSError for an archive that cannot be opened; callers turn
    that into a one-line error.
    """
    return scan_files(
        _read_wheel(Path(path)), providers, watched, deep_needles=deep_needles, deep_exempt=deep_exempt
    )
