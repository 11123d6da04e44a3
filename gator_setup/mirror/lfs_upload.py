"""Git LFS uploads, as huggingface_hub sends `lfs` files: the batch API (operation "upload", basic
transfer), a signed PUT of the bytes, and verify.

huggingface_hub PUTs the bytes to the `href` the batch answer gives, with no Authorization header (on
the Hub it is a presigned storage URL), so the URL itself carries the right to upload: it names the
writer, repo, object and size, expires, and is signed with a key kept in the storage root (so every
worker process accepts it). The bytes stream to disk, hashed as they come, and count only once their
sha256 and size match the object id; then the writer may link the object in a commit of that repo
(uploads.py). The batch answer says "already there" only for objects the writer could link anyway,
so it never reveals what else is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from typing import Any

from aiohttp import web

from gator_setup.mirror import hubctx
from gator_setup.mirror.auth import User
from gator_setup.mirror.http import json_body, json_response
from gator_setup.mirror.ids import HubError, RepoRef, is_sha256
from gator_setup.mirror.signing import storage_secret
from gator_setup.mirror.state import MirrorState, public_base, state_of
from gator_setup.mirror.store import BlobMismatch, Store
from gator_setup.mirror.uploads import LinkCheck, may_link, record_upload

UPLOAD_URL_TTL = 3600  # seconds a signed upload URL stays valid
LFS_JSON = "application/vnd.git-lfs+json"
WRITE_BATCH = 1024 * 1024  # bytes handed to the writer thread at a time


def _signature(store: Store, user: str, ref: RepoRef, oid: str, size: int, expires: int) -> str:
    msg = f"upload\n{user}\n{ref.url_path}\n{oid}\n{size}\n{expires}".encode()
    return hmac.new(storage_secret(store, "lfs-upload.key"), msg, hashlib.sha256).hexdigest()


def _writer_of(request: web.Request, ref: RepoRef) -> User:
    state = state_of(request)
    user = state.auth.check_write(ref, hubctx.git_caller(request))
    hubctx.local_meta(request, ref)
    return user


def _size_of(obj: dict[str, Any]) -> int | None:
    size = obj.get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


async def upload_batch(request: web.Request, ref: RepoRef, body: dict[str, Any]) -> web.Response:
    """POST /{repo}.git/info/lfs/objects/batch, operation "upload" (`body` already read)."""
    state = state_of(request)
    user = _writer_of(request, ref)
    objects = body.get("objects")
    if not isinstance(objects, list) or len(objects) > 1000:
        raise HubError(422, None, "'objects' must be a list of at most 1000 objects.")
    base = public_base(request)
    expires = int(time.time()) + UPLOAD_URL_TTL
    out: list[dict[str, Any]] = []
    may_link = LinkCheck(state.store, ref, user.name)  # one read of the grants for the whole batch
    for obj in objects:
        oid = obj.get("oid") if isinstance(obj, dict) else None
        size = _size_of(obj) if isinstance(obj, dict) else None
        if not is_sha256(oid) or size is None:
            out.append(
                {"oid": str(oid)[:64], "size": 0, "error": {"code": 422, "message": "Invalid object."}}
            )
            continue
        assert isinstance(oid, str)
        if size > state.config.max_file_size:
            out.append({"oid": oid, "size": size, "error": {"code": 422, "message": "Object too large."}})
            continue
        entry: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
        linked = await asyncio.to_thread(may_link, oid)
        if not (linked and state.store.blob_path(oid).stat().st_size == size):
            sig = _signature(state.store, user.name, ref, oid, size, expires)
            entry["actions"] = {
                "upload": {
                    "href": f"{base}/{ref.url_path}.git/info/lfs/upload/{user.name}/{oid}/{size}/{expires}/"
                    + sig,
                    "expires_in": UPLOAD_URL_TTL,
                },
                "verify": {
                    "href": f"{base}/{ref.url_path}.git/info/lfs/verify",
                    "expires_in": UPLOAD_URL_TTL,
                },
            }
        out.append(entry)
    resp = json_response({"transfer": "basic", "objects": out, "hash_algo": "sha256"})
    resp.content_type = LFS_JSON
    return resp


def _user_named(state: MirrorState, name: str) -> User | None:
    if state.auth.tokens is None:
        return User("dev", True, anywhere=True) if name == "dev" else None
    return next((u for u in state.auth.tokens.values() if u.name == name and u.write), None)


async def put_object(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    """PUT /{repo}.git/info/lfs/upload/{user}/{oid}/{size}/{expires}/{sig}: the bytes of one object."""
    state = state_of(request)
    if len(args) != 5 or not args[2].isdigit() or not args[3].isdigit():
        raise HubError(404, None, "Not found.")
    name, oid, size, expires, sig = args[0], args[1], int(args[2]), int(args[3]), args[4]
    good = is_sha256(oid) and hmac.compare_digest(
        _signature(state.store, name, ref, oid, size, expires).encode(), sig.encode()
    )
    if not good or expires < time.time():
        raise HubError(403, None, "Invalid or expired upload URL; ask the batch API again.")
    user = _user_named(state, name)
    state.auth.check_write(ref, user)  # still a writer of this namespace (tokens may have changed)
    hubctx.local_meta(request, ref)
    if request.content_length is not None and request.content_length != size:
        raise HubError(400, "BadRequest", f"Content-Length is not the object size {size}.")
    async with state.uploads():
        await _receive(request, state.store, oid, size, state.config.body_timeout)
    assert user is not None
    record_upload(state.store, ref, user.name, oid)
    return web.Response(status=200)


async def _receive(request: web.Request, store: Store, oid: str, size: int, timeout: float) -> None:
    """Stream the body into a blob (hashed in a worker thread); it counts only if sha256 and size match."""
    loop = asyncio.get_running_loop()
    writer = store.new_blob()
    received = 0
    pending = bytearray()
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(request.content.readany(), timeout)
            except asyncio.TimeoutError:
                raise HubError(408, "RequestTimeout", "The upload stalled.") from None
            received += len(chunk)
            if received > size:
                raise HubError(400, "BadRequest", "More bytes than the object size.")
            pending += chunk
            if len(pending) >= WRITE_BATCH or (not chunk and pending):
                data, pending = bytes(pending), bytearray()
                await loop.run_in_executor(None, writer.write, data)
            if not chunk:
                break
        if received != size:
            raise HubError(400, "BadRequest", f"Got {received} bytes of {size}.")
        try:
            await loop.run_in_executor(None, lambda: writer.finish(sha256=oid, size=size))
        except BlobMismatch:
            raise HubError(400, "BadRequest", "Content does not match its sha256.") from None
    except OSError as exc:
        raise HubError(507, "InsufficientStorage", f"Cannot store upload: {exc.strerror}") from None
    finally:
        writer.abort()  # no-op once published


async def verify(request: web.Request, ref: RepoRef, args: list[str]) -> web.Response:
    """POST /{repo}.git/info/lfs/verify: 200 once this writer's object is stored with that size."""
    state = state_of(request)
    user = _writer_of(request, ref)
    body = await json_body(request, state.config.body_timeout)
    oid, size = body.get("oid"), _size_of(body)
    ok = (
        is_sha256(oid)
        and size is not None
        and await asyncio.to_thread(may_link, state.store, ref, user.name, oid)
        and state.store.blob_path(str(oid)).stat().st_size == size
    )
    if not ok:
        raise HubError(404, None, "Object not found.")
    resp = json_response({"oid": oid, "size": size})
    resp.content_type = LFS_JSON
    return resp
