"""git over HTTP, read-only: `git clone` / `git fetch` of a repo published on this mirror (dulwich's
upload-pack over a view of the store), and the git-lfs batch API for downloads (`git lfs pull`).

The view holds the same objects the API reports: LFS files as their pointer blobs, trees and commits
rebuilt from the stored file maps and checked against the stored ids (mirror/gitobj.py), so a clone's
`git rev-parse HEAD` is the `sha` that model_info shows. Upstream copies are not served: their commit
objects (authors, dates) are not stored, so the same ids could not be rebuilt.
"""

from __future__ import annotations

import asyncio
import calendar
import collections
import hashlib
import hmac
import re
import threading
import time
from io import BytesIO
from typing import Any, cast

from aiohttp import web
from dulwich.errors import GitProtocolError
from dulwich.objects import Blob, Commit, Tree
from dulwich.protocol import ReceivableProtocol
from dulwich.repo import MemoryRepo
from dulwich.server import DictBackend, UploadPackHandler

from gator_setup.mirror import gitobj, history, hubctx
from gator_setup.mirror.http import blob_response, error_response, json_response
from gator_setup.mirror.ids import HubError, RepoRef
from gator_setup.mirror.signing import storage_secret
from gator_setup.mirror.store import Store

MAX_GIT_BYTES = 256 * 1024 * 1024  # non-LFS content held in memory for clones; above: use hf download
LFS_URL_TTL = 3600  # seconds a signed LFS download URL stays valid
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_NO_CACHE = {
    "Cache-Control": "no-cache, max-age=0, must-revalidate",
    "Expires": "Fri, 01 Jan 1980 00:00:00 GMT",
}
LFS_JSON = "application/vnd.git-lfs+json"


class _Dir(dict[str, Any]):
    """A folder while trees are built (a file entry is a plain dict)."""


class GitView:
    """The git objects of one repo at one state of its refs, plus the LFS objects they point to."""

    def __init__(self, repo: MemoryRepo, lfs: dict[str, int], size: int) -> None:
        self.repo = repo
        self.lfs = lfs  # sha256 -> size of every LFS file in the served history
        self.size = size  # bytes of (non-LFS) file content held in memory


def _timestamp(iso: str) -> int:
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%S.000Z"))


def build_view(store: Store, ref: RepoRef) -> GitView:
    """Rebuild the repo's commits, trees and blobs; HubError when they cannot match the stored ids."""
    repo = MemoryRepo()
    objects = repo.object_store
    refs = store.refs(ref)
    blobs: dict[str, Blob] = {}
    lfs: dict[str, int] = {}
    budget = [MAX_GIT_BYTES]

    def blob(path: str, entry: dict[str, Any]) -> Any:  # a hex id (ObjectID in dulwich 1.x)
        oid = str(entry["oid"])
        if oid not in blobs:
            if entry.get("lfs"):
                data = gitobj.lfs_pointer(str(entry["sha256"]), int(entry["size"]))
                lfs[str(entry["sha256"])] = int(entry["size"])
            else:
                budget[0] -= int(entry["size"])
                if budget[0] < 0:
                    raise HubError(
                        413, None, f"{ref.id} is too large for git over HTTP here; use hf download."
                    )
                if not store.has_blob(entry.get("sha256")):
                    raise HubError(503, "BlobMissing", f"Content of {path} is missing from the store.")
                data = store.blob_path(str(entry["sha256"])).read_bytes()
            b = Blob.from_string(data)
            if b.id.decode() != oid:
                raise HubError(
                    409, None, f"{path}: stored git id does not match its content; not served by git."
                )
            blobs[oid] = b
            objects.add_object(b)
        elif entry.get("lfs"):
            lfs[str(entry["sha256"])] = int(entry["size"])
        return oid.encode()

    def tree(prefix: str, node: _Dir) -> Any:
        t = Tree()
        for name, value in node.items():
            if isinstance(value, _Dir):
                t.add(name.encode(), 0o040000, tree(f"{prefix}{name}/", value))
            else:
                t.add(name.encode(), 0o100644, blob(prefix + name, value))
        objects.add_object(t)
        return t.id

    done: set[str] = set()
    for head in {*refs["branches"].values(), *refs["tags"].values()}:
        for commit in history.walk(store, ref, head):
            if commit["id"] in done:
                continue
            done.add(commit["id"])
            root = _Dir()
            for path, entry in commit["files"].items():
                node = root
                *dirs, name = path.split("/")
                for d in dirs:
                    node = node.setdefault(d, _Dir())
                node[name] = entry
            c = Commit()
            c.tree = tree("", root)
            c.parents = [p.encode() for p in commit.get("parents") or []]
            author = str(commit.get("author") or "gator")
            c.author = c.committer = f"{author} <{author}@gator.local>".encode()
            c.author_time = c.commit_time = _timestamp(str(commit["time"]))
            c.author_timezone = c.commit_timezone = 0
            c.message = (str(commit.get("message") or "") + "\n").encode()
            if c.id.decode() != commit["id"]:
                raise HubError(
                    409, None, f"Commit {commit['id']} was not written by this mirror; not served by git."
                )
            objects.add_object(c)
    git_refs: Any = repo.refs  # dulwich 1.x types refs with NewTypes (plain bytes before)
    for name, sha in refs["branches"].items():
        git_refs[b"refs/heads/" + name.encode()] = sha.encode()
    for name, sha in refs["tags"].items():
        git_refs[b"refs/tags/" + name.encode()] = sha.encode()
    if "main" in refs["branches"]:
        git_refs.set_symbolic_ref(b"HEAD", b"refs/heads/main")
    return GitView(repo, lfs, MAX_GIT_BYTES - budget[0])


class _ViewCache:
    """Recent views, keyed by repo and the commit ids of its refs. Those ids fix every object of the
    view, so a view is never stale; at most MAX_GIT_BYTES of content is held in all."""

    def __init__(self, max_bytes: int = MAX_GIT_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: collections.OrderedDict[tuple[Any, ...], GitView] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: Store, ref: RepoRef) -> GitView:
        refs = store.refs(ref)
        key = (ref, tuple(sorted(refs["branches"].items())), tuple(sorted(refs["tags"].items())))
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        view = build_view(store, ref)
        with self._lock:
            self._items[key] = view
            while len(self._items) > 1 and sum(v.size for v in self._items.values()) > self.max_bytes:
                self._items.popitem(last=False)
        return view


VIEWS = _ViewCache()


def _readable(request: web.Request, ref: RepoRef) -> None:
    state = hubctx.state_of(request)
    meta = state.store.repo_meta(ref)
    if meta is not None and meta.get("upstream"):
        raise HubError(
            501, "NotServed", f"{ref.id} is an upstream copy: git is served for repos published here only."
        )
    state.auth.check_read(ref, meta, hubctx.git_caller(request))


def _git_error(exc: HubError) -> web.Response:
    resp = error_response(exc)
    if exc.status == 401:
        # git asks its credential helper (or the user) only after a 401 with a Basic challenge.
        resp.headers["WWW-Authenticate"] = 'Basic realm="gator mirror"'
    return resp


async def _view(request: web.Request, ref: RepoRef) -> GitView:
    _readable(request, ref)
    store = hubctx.state_of(request).store
    return await asyncio.to_thread(VIEWS.get, store, ref)


def _run_upload_pack(repo: MemoryRepo, body: bytes, advertise: bool) -> bytes:
    out = BytesIO()
    proto = ReceivableProtocol(BytesIO(body).read, out.write)
    backend: Any = DictBackend(cast(Any, {b"/": repo}))
    handler = UploadPackHandler(
        backend, cast(Any, [b"/"]), proto, stateless_rpc=True, advertise_refs=advertise
    )
    if advertise:
        proto.write_pkt_line(b"# service=git-upload-pack\n")
        proto.write_pkt_line(None)
    try:
        handler.handle()
    except GitProtocolError as exc:  # malformed or unsupported requests (hang-ups included)
        raise HubError(400, "BadRequest", f"Bad git request: {exc}") from None
    return out.getvalue()


async def info_refs(request: web.Request, ref: RepoRef) -> web.Response:
    """GET /{repo}[.git]/info/refs?service=git-upload-pack (smart HTTP only; pushes are refused)."""
    try:
        service = request.query.get("service")
        if service != "git-upload-pack":
            raise HubError(403, None, "Only git-upload-pack (clone, fetch) is served; push with the Hub API.")
        view = await _view(request, ref)
        body = await asyncio.to_thread(_run_upload_pack, view.repo, b"", True)
    except HubError as exc:
        return _git_error(exc)
    return web.Response(
        body=body, headers={"Content-Type": "application/x-git-upload-pack-advertisement", **_NO_CACHE}
    )


async def upload_pack(request: web.Request, ref: RepoRef) -> web.Response:
    """POST /{repo}[.git]/git-upload-pack: the pack of what the client wants."""
    try:
        view = await _view(request, ref)
        # aiohttp inflates gzip bodies (git gzips large requests) within the app's client_max_size.
        try:  # wants and haves: small; a body that takes longer than this is an attack, not a clone
            data = await asyncio.wait_for(request.read(), hubctx.state_of(request).config.body_timeout)
        except asyncio.TimeoutError:
            raise HubError(408, "RequestTimeout", "The request body stalled.") from None
        body = await asyncio.to_thread(_run_upload_pack, view.repo, data, False)
    except HubError as exc:
        return _git_error(exc)
    return web.Response(
        body=body, headers={"Content-Type": "application/x-git-upload-pack-result", **_NO_CACHE}
    )


def _signature(store: Store, ref: RepoRef, oid: str, expires: int) -> str:
    msg = f"{ref.url_path}\n{oid}\n{expires}".encode()
    return hmac.new(storage_secret(store, "lfs-url.key"), msg, hashlib.sha256).hexdigest()


async def lfs_batch(request: web.Request, ref: RepoRef, body: dict[str, Any]) -> web.Response:
    """POST /{repo}.git/info/lfs/objects/batch with operation "download": signed URLs for the objects
    this repo's history holds (an oid of another repo is "not found", whatever the blob store has)."""
    try:
        view = await _view(request, ref)
    except HubError as exc:
        return _git_error(exc)
    state = hubctx.state_of(request)
    base = hubctx.public_base(request)
    objects: list[Any] = body["objects"] if isinstance(body.get("objects"), list) else []
    expires = int(time.time()) + LFS_URL_TTL
    out = []
    for obj in objects[:1000]:
        oid = str(obj.get("oid", "")) if isinstance(obj, dict) else ""
        size = view.lfs.get(oid) if _SHA256_RE.match(oid) else None
        if size is None or not state.store.has_blob(oid):
            out.append({"oid": oid, "size": obj.get("size") if isinstance(obj, dict) else None,
                        "error": {"code": 404, "message": "Object does not exist"}})  # fmt: skip
            continue
        sig = _signature(state.store, ref, oid, expires)
        href = f"{base}/{ref.url_path}.git/info/lfs/objects/{oid}?expires={expires}&sig={sig}"
        out.append(
            {
                "oid": oid,
                "size": size,
                "authenticated": True,
                "actions": {"download": {"href": href, "expires_in": LFS_URL_TTL}},
            }
        )
    resp = json_response({"transfer": "basic", "objects": out, "hash_algo": "sha256"})
    resp.content_type = LFS_JSON
    return resp


async def lfs_object(request: web.Request, ref: RepoRef, oid: str) -> web.StreamResponse:
    """GET /{repo}.git/info/lfs/objects/{oid}?expires=&sig=: the bytes, for a URL the batch API signed."""
    state = hubctx.state_of(request)
    try:
        expires = int(request.query.get("expires", "0"))
    except ValueError:
        expires = 0
    sig = request.query.get("sig", "").encode("utf-8", "replace")
    good = _SHA256_RE.match(oid) and hmac.compare_digest(
        _signature(state.store, ref, oid, expires).encode(), sig
    )
    if not good or expires < time.time():
        raise HubError(403, None, "Invalid or expired LFS download URL; run git lfs pull again.")
    if not state.store.has_blob(oid):
        raise HubError(404, None, "Object does not exist")
    state.store.touch_blob(oid)
    blob = state.store.blob_path(oid)
    return await blob_response(request, blob, blob.stat().st_size, {"ETag": f'"{oid}"'})
