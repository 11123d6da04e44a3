"""Repo-level operations: auth-check, move (rename or transfer), duplicate."""

from __future__ import annotations

import os
from typing import Any

from aiohttp import web

from gator_setup.mirror import hubctx
from gator_setup.mirror.http import json_body, json_response
from gator_setup.mirror.ids import REPO_TYPES, HubError, RepoRef, parse_repo_id
from gator_setup.mirror.routes_read import locate


async def auth_check(request: web.Request, ref: RepoRef, write: bool) -> web.Response:
    """GET /api/{type}s/{repo}/auth-check[/write]: 200 when the caller may read (or write) the repo."""
    state = hubctx.state_of(request)
    if write:
        state.auth.check_write(ref, hubctx.caller(request))
        hubctx.local_meta(request, ref)
    else:
        await locate(request, ref, "main")
    return json_response({})


async def _body(request: web.Request) -> dict[str, Any]:
    # Size and time limits, 4xx for anything malformed (http.json_body).
    return await json_body(request, hubctx.state_of(request).config.body_timeout)


async def move_repo(request: web.Request) -> web.Response:
    """POST /api/repos/move {fromRepo, toRepo, type}: rename within or across namespaces the caller
    may write; commits, refs and settings move with the repo (blobs are shared, nothing is copied)."""
    state = hubctx.state_of(request)
    body = await _body(request)
    rtype = str(body.get("type") or "model")
    if rtype not in REPO_TYPES:
        raise HubError(400, "BadRequest", f"Invalid repo type {rtype!r}.")
    src = parse_repo_id(str(body.get("fromRepo") or ""), rtype)
    dst = parse_repo_id(str(body.get("toRepo") or ""), rtype)
    user = state.auth.check_write(src, hubctx.caller(request))
    state.auth.check_write(dst, user)
    if not user.anywhere and user.role_in(src.namespace) != "admin":
        # As on the Hub, renaming or transferring takes admin rights on the source: a member with
        # write access could otherwise carry an org's repo off into their own namespace.
        raise HubError(403, None, f"{user.name} needs the admin role in {src.namespace} to move {src.id}")
    meta = hubctx.local_meta(request, src)
    if src == dst:
        raise HubError(400, "BadRequest", "Source and destination are the same repo.")
    store = state.store
    with store.repo_lock(src):
        if store.repo_meta(dst) is not None:
            raise HubError(409, None, f"Repository {dst.id} already exists.")
        target = store.repo_dir(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(store.repo_dir(src), target)  # fails if dst appeared meanwhile (non-empty dir)
        except OSError:
            raise HubError(409, None, f"Repository {dst.id} already exists.") from None
        store.write_meta(dst, {**meta, "id": dst.id})
    return json_response({"url": f"{hubctx.public_base(request)}/{dst.url_path}"})


async def duplicate_repo(request: web.Request, src: RepoRef) -> web.Response:
    """POST /api/{type}s/{repo}/duplicate {repository, visibility?}: a new repo whose first commit after
    the initial one holds the source's current files (the same blobs; history is not copied)."""
    state = hubctx.state_of(request)
    body = await _body(request)
    loc = await locate(request, src, "main")
    dst = parse_repo_id(str(body.get("repository") or ""), src.type)
    user = state.auth.check_write(dst, hubctx.caller(request))
    store = state.store
    files = loc.commit["files"]
    missing = [p for p, e in files.items() if not store.has_blob(e.get("sha256"))]
    if missing:
        raise HubError(
            409, None, f"{len(missing)} file(s) of {src.id} are not stored here yet (e.g. {missing[0]})."
        )
    visibility = body.get("visibility")
    private = bool(loc.meta.get("private")) if visibility is None else visibility == "private"
    sdk = loc.meta.get("sdk")
    created = store.create_repo(dst, private=private, sdk=sdk, author=user.name, exist_ok=True)
    url = f"{hubctx.public_base(request)}/{dst.url_path}"
    if not created:
        # huggingface_hub reads `url` from the 409 body too (duplicate_repo(exist_ok=True)).
        msg = f"Repository {dst.id} already exists."
        return json_response({"url": url, "error": msg}, status=409, headers={"X-Error-Message": msg})
    adds = {p: dict(e) for p, e in files.items()}
    store.commit(dst, "main", adds=adds, message=f"Duplicate from {src.id}", author=user.name)
    return json_response({"url": url, "filesCopyPending": False})
