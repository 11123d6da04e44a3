"""Which stored LFS objects a writer may link into a repo (`lfsFile` commit lines, LFS batch answers).

Content addressing must never become an access path: knowing a sha256 (public in the Hub's tree
listings, even for gated files) is not a right to its bytes. A writer may link an object only if

* it uploaded those bytes to this repo itself (LFS upload, sha256-checked) not long ago, or
* the object is already reachable from a commit of this repo (which the writer may read).

Anything else is answered as if the object were not stored at all, so the answer reveals nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from gator_setup.mirror.ids import RepoRef, is_sha256
from gator_setup.mirror.store import Store, atomic_write_json, read_json

UPLOAD_GRANT_TTL = 24 * 3600.0  # an upload counts for commits within this time


def _grants_path(store: Store, ref: RepoRef) -> Path:
    return store.repo_dir(ref) / "uploads.json"


def record_uploads(store: Store, ref: RepoRef, user: str, oids: Iterable[str]) -> None:
    """`user` uploaded and verified objects `oids` for `ref` (kept in the repo, shared by workers).

    One read and write of the grants however many objects: a Xet shard may list thousands of files,
    and one write per file made it quadratic (3000 files: 17 s).
    """
    now = time.time()
    with store.repo_lock(ref):
        data = read_json(_grants_path(store, ref), {})
        # Drop stale grants while here, so the file stays small.
        data = {
            k: {u: t for u, t in v.items() if now - t < UPLOAD_GRANT_TTL}
            for k, v in data.items()
            if isinstance(v, dict)
        }
        for oid in oids:
            data.setdefault(oid, {})[user] = now
        atomic_write_json(_grants_path(store, ref), {k: v for k, v in data.items() if v})


def record_upload(store: Store, ref: RepoRef, user: str, oid: str) -> None:
    """`user` uploaded and verified object `oid` for `ref`."""
    record_uploads(store, ref, user, [oid])


def _fresh_grants(store: Store, ref: RepoRef) -> dict[str, set[str]]:
    """Object -> the users whose upload of it to `ref` is within the grant time."""
    data = read_json(_grants_path(store, ref), {})
    now = time.time()
    out: dict[str, set[str]] = {}
    for oid, who in data.items() if isinstance(data, dict) else ():
        if isinstance(who, dict):
            users = {u for u, t in who.items() if isinstance(t, (int, float)) and now - t < UPLOAD_GRANT_TTL}
            if users:
                out[oid] = users
    return out


def _granted(store: Store, ref: RepoRef, user: str) -> set[str]:
    """The objects `user` uploaded to `ref` within the grant time."""
    return {oid for oid, users in _fresh_grants(store, ref).items() if user in users}


def pending(store: Store, ref: RepoRef) -> set[str]:
    """Objects some writer uploaded to `ref` within the grant time: their commit may still come, so
    prune keeps them (for Xet uploads, they may also hold the only copy of the xorbs' chunks)."""
    return set(_fresh_grants(store, ref))


def uploaded_by(store: Store, ref: RepoRef, user: str, oid: str) -> bool:
    """Whether `user` uploaded `oid` to `ref` within the grant time."""
    return oid in _granted(store, ref, user)


def _held(store: Store, ref: RepoRef) -> set[str]:
    """The contents of every file of every stored commit of `ref`."""
    commits = store.repo_dir(ref) / "commits"
    out: set[str] = set()
    for path in commits.glob("*.json") if commits.is_dir() else ():
        commit = store.get_commit(ref, path.stem)
        out.update(str(e["sha256"]) for e in (commit or {}).get("files", {}).values() if e.get("sha256"))
    return out


class LinkCheck:
    """`may_link` for the many objects of one commit or batch: the grants and the repo's commits are
    read once, not once per object (per object, a 6000-file commit took 26 s, and more with history).
    """

    def __init__(self, store: Store, ref: RepoRef, user: str) -> None:
        self.store, self.ref, self.user = store, ref, user
        self._granted: set[str] | None = None
        self._held: set[str] | None = None

    def __call__(self, oid: object) -> bool:
        if not is_sha256(oid):
            return False
        assert isinstance(oid, str)
        if not self.store.has_blob(oid):
            return False
        if self._granted is None:
            self._granted = _granted(self.store, self.ref, self.user)
        if oid in self._granted:
            return True
        if self._held is None:
            self._held = _held(self.store, self.ref)
        return oid in self._held


def may_link(store: Store, ref: RepoRef, user: str, oid: object) -> bool:
    """Whether `user` may link stored object `oid` into `ref` (see the module docstring)."""
    return LinkCheck(store, ref, user)(oid)
