"""On-disk store: content-addressed blobs (sha256) plus per-repo commits and refs, all written atomically.

Layout under the storage root::

    blobs/ab/<sha256>                 complete, verified content (never partial: written to tmp/ first)
    tmp/                              blobs being written (renamed into blobs/ once verified)
    quarantine/                       blobs whose bytes did not match the expected hash, kept for inspection
    index/sha1/<git-oid>              sha256 of the content with that git blob id (pull-through lookups)
    repos/<type>s/<ns>/<name>/
        repo.json                     id, type, private, gated, sdk, created
        refs.json                     {"branches": {name: commit}, "tags": {...}}
        commits/<commit>.json         parents, message, author, time, files {path: entry}
        secrets.json, variables.json  Space settings (secret values are never returned by the API)
        upstream_refs.json            pull-through: revision -> {sha, checked}
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock

from gator_setup.mirror import gitobj, tmpfiles
from gator_setup.mirror.ids import API_PLURAL, REPO_TYPES, HubError, RepoRef, is_sha, valid_name
from gator_setup.mirror.treeindex import IndexCache, TreeIndex
from gator_setup.mirror.usage import UsageLog

_SHORT_SHA_RE = re.compile(r"^[0-9a-f]{7,39}$")  # a commit-id prefix (git's default short length and up)
FileEntry = dict[str, Any]  # {"sha256": str|None, "size": int, "oid": str, "lfs": bool}
CHUNK = 1024 * 1024
HASH_CHUNK = 4 * 1024 * 1024  # pread size when hashing a file that is being written (see hash_through)


class BlobMismatch(Exception):
    """Fetched bytes differ from what the upstream announced; the blob went to quarantine."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same folder and rename, so readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """JSON flavour of atomic_write_bytes."""
    atomic_write_bytes(path, json.dumps(obj, indent=1, sort_keys=True).encode())


def read_json(path: Path, default: Any = None) -> Any:
    """Read a JSON file, `default` when it does not exist."""
    try:
        with open(path, "rb") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return default


class _JsonCache:
    """Parsed JSON files keyed by path, revalidated by (mtime_ns, size): hot paths avoid re-parsing."""

    def __init__(self, limit: int = 512) -> None:
        self.limit = limit
        self._items: dict[Path, tuple[tuple[int, int], Any]] = {}

    def get(self, path: Path, default: Any = None) -> Any:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return copy.deepcopy(default)
        key = (st.st_mtime_ns, st.st_size)
        hit = self._items.get(path)
        if hit is None or hit[0] != key:
            data = read_json(path, default)
            if len(self._items) >= self.limit:
                self._items.pop(next(iter(self._items)))
            self._items[path] = (key, data)
            hit = (key, data)
        # Callers may modify what they get: hand out a copy of small documents, never of commits.
        return hit[1]


class BlobWriter:
    """Receives the bytes of one blob into tmp/, hashing as they come; `finish` verifies and publishes."""

    def __init__(
        self,
        store: Store,
        resume_name: str | None = None,
        git_size: int | None = None,
        *,
        resume_path: Path | None = None,
    ) -> None:
        self.store = store
        name = f"resume-{resume_name}.part" if resume_name else f"{uuid.uuid4().hex}.part"
        self.path = resume_path or store.root / "tmp" / name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        resume = resume_name is not None or resume_path is not None
        self._sha256 = hashlib.sha256()
        # With the size known up front the git blob id is hashed on the fly too (no second read).
        self._sha1 = hashlib.sha1(gitobj.blob_header(git_size)) if git_size is not None else None
        self.size = 0  # bytes received
        self.hashed = 0  # bytes fed to the hashes (behind `size` only in append mode)
        self._hash_buf: memoryview | None = None
        self.done = False
        self.digest: str | None = None
        # Read-write: hash_through reads the bytes back with pread.
        # Resumed files are not opened in append mode: splice(2) refuses O_APPEND targets.
        self._fh = (
            os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644), "r+b")
            if resume
            else open(self.path, "w+b")  # noqa: SIM115 - closed in finish/abort
        )
        try:
            # Held while this writer lives: start-up and prune remove only temp files nobody holds.
            tmpfiles.hold(self._fh.fileno(), self.path.name)
            if resume:
                # Resume a download interrupted earlier (maybe by another, dead, process): re-hash it.
                self.size = self._fh.seek(0, os.SEEK_END)
                self.hash_through(self.size)
        except BaseException:
            self._fh.close()
            raise

    def _hash(self, data: bytes | memoryview) -> None:
        self._sha256.update(data)
        if self._sha1 is not None:
            self._sha1.update(data)
        self.hashed += len(data)

    def _update(self, data: bytes | memoryview) -> None:
        self._hash(data)
        self.size += len(data)

    def write(self, data: bytes) -> None:
        """Write and hash at once (imports, uploads, pins: nobody reads the blob before it is done)."""
        if self.hashed < self.size:  # after append(): hash in order
            self._fh.flush()
            self.hash_through(self.size)
        self._fh.write(data)
        self._update(data)

    def flush(self) -> None:
        self._fh.flush()

    def append(self, data: bytes) -> None:
        """Write without hashing and make the bytes visible to readers of the file at once.

        Pull-through fetches use this: sha256 on one core (about 1.7 GB/s here) is slower than loopback,
        so the hash runs in a worker thread (`hash_through`) behind the writes instead of in the
        event loop in front of them.
        """
        self._fh.write(data)
        self._fh.flush()
        self.size += len(data)

    def fileno(self) -> int:
        """For writers that bypass Python buffers (splice, os.write); report the bytes with `appended`."""
        self._fh.flush()
        return self._fh.fileno()

    def appended(self, n: int) -> None:
        """`n` more bytes were written to `fileno()` directly (not hashed yet: see hash_through)."""
        self.size += n

    def hash_through(self, end: int) -> None:
        """Hash the file's bytes from `hashed` up to `end`, reading them back from the page cache.

        Runs in a worker thread while the event loop appends (pread does not move the write offset;
        hashlib releases the GIL on large buffers). One call at a time per writer.
        """
        fd = self._fh.fileno()
        if self._hash_buf is None:  # one buffer per blob: fresh pages are costly (zeroed, faulted in)
            self._hash_buf = memoryview(bytearray(HASH_CHUNK))
        buf = self._hash_buf
        while self.hashed < end and not self.done:
            n = os.preadv(fd, [buf[: min(HASH_CHUNK, end - self.hashed)]], self.hashed)
            if n <= 0:
                raise OSError(f"{self.path.name} shrank while hashing")
            self._hash(buf[:n])

    def detach(self) -> None:
        """Stop writing but leave the partial file for another writer to resume (shared fetches)."""
        if not self.done:
            self.done = True
            with contextlib.suppress(OSError):
                self._fh.close()

    def abort(self) -> None:
        """Drop the partial blob."""
        if not self.done:
            self.done = True
            with contextlib.suppress(OSError):
                self._fh.close()
            with contextlib.suppress(OSError):
                self.path.unlink()

    def verify(
        self, *, sha256: str | None = None, size: int | None = None, git_oid: str | None = None
    ) -> str:
        """Check the received bytes against what was announced; a mismatch goes to quarantine/."""
        self._fh.flush()
        if self.hashed < self.size:
            self.hash_through(self.size)
        digest = self._sha256.hexdigest()
        problem = None
        if size is not None and size != self.size:
            problem = f"size {self.size} != expected {size}"
        elif sha256 is not None and sha256 != digest:
            problem = f"sha256 {digest} != expected {sha256}"
        elif git_oid is not None:
            got = (
                self._sha1.hexdigest()
                if self._sha1 is not None and size == self.size
                else _git_oid_of_file(self.path, self.size)
            )
            if got != git_oid:
                problem = f"git oid {got} != expected {git_oid}"
        if problem:
            self.done = True
            with contextlib.suppress(OSError):
                self._fh.close()
            qdir = self.store.root / "quarantine"
            qdir.mkdir(parents=True, exist_ok=True)
            dest = qdir / f"{int(time.time())}-{digest}"
            os.replace(self.path, dest)
            raise BlobMismatch(f"{problem}; kept in {dest}")
        self.digest = digest
        return digest

    def publish(self) -> FileEntry:
        """fsync and rename into blobs/ (after verify)."""
        assert self.digest is not None, "verify() first"
        os.fsync(self._fh.fileno())
        self._fh.close()
        self.done = True
        final = self.store.blob_path(self.digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, final)
        return {"sha256": self.digest, "size": self.size}

    def finish(
        self, *, sha256: str | None = None, size: int | None = None, git_oid: str | None = None
    ) -> FileEntry:
        """Verify against the expected sha256 / size / git blob id, then move into blobs/ (or quarantine)."""
        self.verify(sha256=sha256, size=size, git_oid=git_oid)
        return self.publish()


def _git_oid_of_file(path: Path, size: int) -> str:
    h = hashlib.sha1(gitobj.blob_header(size))
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def make_entry(path: str, sha256: str, size: int, blob: Path, *, lfs: bool | None = None) -> FileEntry:
    """Full tree entry for stored content: LFS flag and git oid as the Hub would compute them.

    `gitsha1` (git blob id of the content itself) is what upload clients compare in preupload to skip
    unchanged files, also for files the tree shows as LFS pointers.
    """
    is_lfs = gitobj.is_lfs_path(path, size) if lfs is None else lfs
    content_sha1 = _git_oid_of_file(blob, size)
    pointer = gitobj.lfs_pointer(sha256, size)
    oid = hashlib.sha1(gitobj.blob_header(len(pointer)) + pointer).hexdigest() if is_lfs else content_sha1
    return {"sha256": sha256, "size": size, "oid": oid, "lfs": is_lfs, "gitsha1": content_sha1}


class Store:
    """The storage root: blobs, repos, commits and refs."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self._cache = _JsonCache()
        self.usage = UsageLog(self.root)
        self.trees = IndexCache()
        for sub in ("blobs", "tmp", "repos", "index/sha1"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # ---- blobs
    def blob_path(self, sha256: str) -> Path:
        if not (len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)):
            raise ValueError("not a sha256")
        return self.root / "blobs" / sha256[:2] / sha256

    def has_blob(self, sha256: str | None) -> bool:
        return bool(sha256) and _is_hex(str(sha256), 64) and self.blob_path(str(sha256)).is_file()

    def new_blob(self, resume_name: str | None = None, git_size: int | None = None) -> BlobWriter:
        return BlobWriter(self, resume_name, git_size)

    def put_file(self, src: Path) -> FileEntry:
        """Copy a local file into the blob store (streamed), returning {sha256, size}."""
        w = self.new_blob()
        try:
            with open(src, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    w.write(chunk)
            return w.finish()
        except BaseException:
            w.abort()
            raise

    def put_bytes(self, data: bytes) -> FileEntry:
        w = self.new_blob()
        try:
            w.write(data)
            return w.finish()
        except BaseException:
            w.abort()
            raise

    def sha256_for_oid(self, oid: str) -> str | None:
        """sha256 of the content whose git blob id is `oid`, if known."""
        if not _is_hex(oid, 40):  # ids come from upstream trees: never let one name a path
            return None
        try:
            value = (self.root / "index" / "sha1" / oid).read_text().strip()
        except (FileNotFoundError, ValueError):
            return None
        return value if _is_hex(value, 64) else None

    def remember_oid(self, oid: str, sha256: str) -> None:
        if not (_is_hex(oid, 40) and _is_hex(sha256, 64)):
            raise ValueError("not a git blob id / sha256")
        atomic_write_bytes(self.root / "index" / "sha1" / oid, sha256.encode())

    def touch_blob(self, sha256: str) -> None:
        """Record that the blob was served (see usage.py: prune's least-recently-used order)."""
        self.usage.record(sha256)

    # ---- repos
    def repo_dir(self, ref: RepoRef) -> Path:
        return self.root / "repos" / ref.plural / ref.namespace / ref.name

    def repo_lock(self, ref: RepoRef) -> FileLock:
        d = self.repo_dir(ref)
        d.mkdir(parents=True, exist_ok=True)
        return FileLock(str(d / ".lock"))

    def repo_meta(self, ref: RepoRef) -> dict[str, Any] | None:
        meta: dict[str, Any] | None = self._cache.get(self.repo_dir(ref) / "repo.json")
        # A shallow copy: callers replace top-level keys, never mutate nested values in place.
        return dict(meta) if meta is not None else None

    def write_meta(self, ref: RepoRef, meta: dict[str, Any]) -> None:
        atomic_write_json(self.repo_dir(ref) / "repo.json", meta)

    def create_repo(
        self,
        ref: RepoRef,
        *,
        private: bool = False,
        sdk: str | None = None,
        gated: bool | str = False,
        upstream: bool = False,
        author: str = "gator",
        exist_ok: bool = False,
    ) -> bool:
        """Create an empty repo with an initial commit on `main` (like the Hub). False if it existed."""
        with self.repo_lock(ref):
            if self.repo_meta(ref) is not None:
                if exist_ok:
                    return False
                raise HubError(409, "RepoExists", f"Repository {ref.id} already exists.")
            meta = {
                "id": ref.id,
                "type": ref.type,
                "private": bool(private),
                "gated": gated,
                "sdk": sdk,
                "created_at": _iso(time.time()),
                "upstream": upstream,
            }
            if not upstream:
                files: dict[str, FileEntry] = {}
                if ref.type in ("model", "dataset", "space"):
                    files = {}
                sha = self._write_commit(ref, [], files, "initial commit", author)
                atomic_write_json(self.repo_dir(ref) / "refs.json", {"branches": {"main": sha}, "tags": {}})
            self.write_meta(ref, meta)
            return True

    def delete_repo(self, ref: RepoRef) -> None:
        d = self.repo_dir(ref)
        if d.is_dir():
            trash = self.root / "tmp" / f"deleted-{uuid.uuid4().hex}"
            os.replace(d, trash)
            shutil.rmtree(trash, ignore_errors=True)

    def list_repos(self) -> Iterator[RepoRef]:
        for rtype in REPO_TYPES:
            base = self.root / "repos" / API_PLURAL[rtype]
            if not base.is_dir():
                continue
            for ns in sorted(base.iterdir()):
                for name in sorted(ns.iterdir()) if ns.is_dir() else []:
                    if valid_name(ns.name) and valid_name(name.name) and (name / "repo.json").is_file():
                        yield RepoRef(rtype, ns.name, name.name)

    def refs(self, ref: RepoRef) -> dict[str, dict[str, str]]:
        cached = self._cache.get(self.repo_dir(ref) / "refs.json", {"branches": {}, "tags": {}})
        data: dict[str, dict[str, str]] = {k: dict(v) for k, v in cached.items()}
        data.setdefault("branches", {})
        data.setdefault("tags", {})
        return data

    def set_ref(self, ref: RepoRef, name: str, sha: str, *, kind: str = "branches") -> None:
        with self.repo_lock(ref):
            data = self.refs(ref)
            data[kind][name] = sha
            atomic_write_json(self.repo_dir(ref) / "refs.json", data)

    def resolve(self, ref: RepoRef, rev: str) -> str | None:
        """Commit id for a branch, tag or commit id; None when unknown."""
        refs = self.refs(ref)
        if rev in refs["branches"]:
            return refs["branches"][rev]
        if rev in refs["tags"]:
            return refs["tags"][rev]
        if is_sha(rev) and (self.repo_dir(ref) / "commits" / f"{rev}.json").is_file():
            return rev
        if _SHORT_SHA_RE.match(rev):
            # The Hub resolves unique commit-id prefixes too (huggingface_hub issue #197, fixed server-side).
            found = [p.stem for p in (self.repo_dir(ref) / "commits").glob(f"{rev}*.json")]
            if len(found) == 1:
                return found[0]
        # An upstream copy (filled by `pin` or pull-through) served on its own: the revisions it was
        # resolved from upstream, as last seen (a mirror with --upstream re-resolves them instead).
        known = self.upstream_refs(ref).get(rev)
        if isinstance(known, dict) and is_sha(str(known.get("sha", ""))):
            sha = str(known["sha"])
            if (self.repo_dir(ref) / "commits" / f"{sha}.json").is_file():
                return sha
        return None

    def get_commit(self, ref: RepoRef, sha: str) -> dict[str, Any] | None:
        if not is_sha(sha):
            return None
        # Commits are immutable: the cached object is shared; callers must not modify it.
        data: dict[str, Any] | None = self._cache.get(self.repo_dir(ref) / "commits" / f"{sha}.json")
        return data

    def tree_index(self, ref: RepoRef, commit: dict[str, Any]) -> TreeIndex:
        """The sorted tree index of a stored commit (built on first use, then cached)."""
        return self.trees.get(ref.url_path, commit)

    def put_commit(self, ref: RepoRef, commit: dict[str, Any]) -> None:
        """Store a commit as given (pull-through: id and files come from the upstream)."""
        atomic_write_json(self.repo_dir(ref) / "commits" / f"{commit['id']}.json", commit)

    def _write_commit(
        self, ref: RepoRef, parents: list[str], files: dict[str, FileEntry], message: str, author: str
    ) -> str:
        ts = int(time.time())
        tree, _ = gitobj.tree_oid(files)
        sha = gitobj.commit_oid(tree, parents, message, author, ts)
        commit = {
            "id": sha,
            "tree": tree,
            "parents": parents,
            "message": message,
            "author": author,
            "time": _iso(ts),
            "files": files,
        }
        self.put_commit(ref, commit)
        return sha

    def commit(
        self,
        ref: RepoRef,
        branch: str,
        *,
        adds: dict[str, FileEntry],
        deletes: list[str] = (),  # type: ignore[assignment]
        message: str = "update",
        author: str = "gator",
        parent: str | None = None,
    ) -> tuple[str, bool]:
        """Apply adds/deletes on top of `branch` and move it. Returns (commit, created); an unchanged
        tree creates no commit and returns the current head."""
        with self.repo_lock(ref):
            refs = self.refs(ref)
            head = refs["branches"].get(branch)
            if head is None and branch != "main":
                raise HubError(404, "RevisionNotFound", f"Branch {branch!r} does not exist.")
            if parent and head and parent != head and not head.startswith(parent):
                raise HubError(412, "PreconditionFailed", "parentCommit is not the head of the branch.")
            base = (self.get_commit(ref, head) or {}).get("files", {}) if head else {}
            files = dict(base)
            for d in deletes:
                d = d.rstrip("/")
                for p in [p for p in files if p == d or p.startswith(d + "/")]:
                    del files[p]
            files.update(adds)
            if head and files == base:
                return head, False
            sha = self._write_commit(ref, [head] if head else [], files, message, author)
            refs["branches"][branch] = sha
            atomic_write_json(self.repo_dir(ref) / "refs.json", refs)
            return sha, True

    def read_settings(self, ref: RepoRef, kind: str) -> dict[str, Any]:
        data: dict[str, Any] = read_json(self.repo_dir(ref) / f"{kind}.json", {})
        return data

    def write_settings(self, ref: RepoRef, kind: str, data: dict[str, Any]) -> None:
        with self.repo_lock(ref):
            atomic_write_json(self.repo_dir(ref) / f"{kind}.json", data)

    def upstream_refs(self, ref: RepoRef) -> dict[str, Any]:
        data: dict[str, Any] = dict(self._cache.get(self.repo_dir(ref) / "upstream_refs.json", {}))
        return data

    def set_upstream_ref(self, ref: RepoRef, rev: str, sha: str) -> None:
        with self.repo_lock(ref):
            data = self.upstream_refs(ref)
            data[rev] = {"sha": sha, "checked": time.time()}
            atomic_write_json(self.repo_dir(ref) / "upstream_refs.json", data)

    def record_pin(self, ref: RepoRef, sha: str, include: list[str]) -> None:
        """Remember that `gator mirror pin` stored commit `sha` (files matching `include`, all if empty):
        prune keeps those blobs unless asked to evict pinned content."""
        with self.repo_lock(ref):
            path = self.repo_dir(ref) / "pins.json"
            data: dict[str, Any] = read_json(path, {})
            data[sha] = {"include": sorted(include), "time": time.time()}
            atomic_write_json(path, data)

    def pins(self, ref: RepoRef) -> dict[str, Any]:
        """Pinned commits of the repo: {commit: {"include": [glob...], "time": ...}}."""
        data: dict[str, Any] = read_json(self.repo_dir(ref) / "pins.json", {})
        return data

    def blob_of(self, entry: FileEntry) -> str | None:
        """sha256 of a tree entry's content (small files of upstream copies: via their git blob id)."""
        sha256 = entry.get("sha256")
        if sha256:
            return str(sha256)
        return self.sha256_for_oid(str(entry.get("oid", ""))) if entry.get("oid") else None

    def repo_size(self, ref: RepoRef) -> tuple[int, int]:
        """(number of commits, bytes of distinct blobs stored for the repo)."""
        seen: dict[str, int] = {}
        commits = list((self.repo_dir(ref) / "commits").glob("*.json"))
        for c in commits:
            for e in (read_json(c) or {}).get("files", {}).values():
                if e.get("sha256") and self.has_blob(e["sha256"]):
                    seen[e["sha256"]] = e["size"]
        return len(commits), sum(seen.values())


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and all(c in "0123456789abcdef" for c in value)


def _iso(ts: float) -> str:
    """The Hub's timestamp format (milliseconds, Z)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def import_folder(
    store: Store,
    folder: Path,
    ref: RepoRef,
    *,
    branch: str = "main",
    message: str | None = None,
    private: bool = False,
    sdk: str | None = None,
    author: str = "gator",
) -> tuple[str, int]:
    """Import every file under `folder` (skipping .git and .cache) as one commit. Returns (commit, files)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(folder)
    store.create_repo(ref, private=private, sdk=sdk, author=author, exist_ok=True)
    adds: dict[str, FileEntry] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink() or not path.is_file() or rel.split("/")[0] in (".git", ".cache"):
            continue
        blob = store.put_file(path)
        adds[rel] = make_entry(rel, blob["sha256"], blob["size"], store.blob_path(blob["sha256"]))
    all_paths = set(adds)
    head = store.resolve(ref, branch)
    old = set((store.get_commit(ref, head) or {}).get("files", {})) if head else set()
    sha, _ = store.commit(
        ref,
        branch,
        adds=adds,
        deletes=sorted(old - all_paths),
        message=message or f"import {folder.name}",
        author=author,
    )
    return sha, len(adds)
