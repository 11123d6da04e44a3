"""Which stored LFS objects a writer may link into a repo (`lfsFile` commit lines, LFS batch answers).

Content addressing must never become an access path: knowing a sha256 (public in the Hub's tree
listings, even for gated files) is not a right to its bytes. A writer may link an object only if

* it uploaded those bytes to this repo itself (LFS upload, sha256-checked) not long ago, or
* the object is already reachable from a commit of this repo (which the writer may read).

Anything else is answered as if the object were not stored at all, so the answer reveals nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

from gator_setup.mirror.ids import RepoRef, is_sha256
from gator_setup.mirror.store import Store, atomic_write_json, read_json

UPLOAD_GRANT_TTL = 24 * 3600.0  # an upload counts for commits within this time


def _grants_path(store: Store, ref: RepoRef) -> Path:
    return store.repo_dir(ref) / "uploads.json"


def record_upload(store: Store, ref: RepoRef, user: str, oid: str) -> None:
    """`user` uploaded and verified object `oid` for `ref` (kept in the repo, shared by workers)."""
    now = time.time()
    with store.repo_lock(ref):
        data = read_json(_grants_path(store, ref), {})
        # Drop stale grants while here, so the file stays small.
        data = {
            k: {u: t for u, t in v.items() if now - t < UPLOAD_GRANT_TTL}
            for k, v in data.items()
            if isinstance(v, dict)
        }
        data.setdefault(oid, {})[user] = now
        atomic_write_json(_grants_path(store, ref), {k: v for k, v in data.items() if v})


def uploaded_by(store: Store, ref: RepoRef, user: str, oid: str) -> bool:
    """Whether `user` uploaded `oid` to `ref` within the grant time."""
    when = read_json(_grants_path(store, ref), {}).get(oid, {}).get(user)
    return isinstance(when, (int, float)) and time.time() - when < UPLOAD_GRANT_TTL


def reachable(store: Store, ref: RepoRef, oid: str) -> bool:
    """Whether a stored commit of `ref` has a file with content `oid`."""
    commits = store.repo_dir(ref) / "commits"
    if not commits.is_dir():
        return False
    for path in commits.glob("*.json"):
        commit = store.get_commit(ref, path.stem)
        if commit and any(e.get("sha256") == oid for e in commit.get("files", {}).values()):
            return True
    return False


def may_link(store: Store, ref: RepoRef, user: str, oid: object) -> bool:
    """Whether `user` may link stored object `oid` into `ref` (see the module docstring)."""
    if not is_sha256(oid):
        return False
    assert isinstance(oid, str)
    if not store.has_blob(oid):
        return False
    return uploaded_by(store, ref, user, oid) or reachable(store, ref, oid)
