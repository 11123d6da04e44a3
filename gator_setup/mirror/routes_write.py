"""Write protocol: repos/create (409 with url), preupload (regular), NDJSON commit, branches, settings,
Space secrets and variables."""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import os
import time
from typing import Any

from aiohttp import web

from gator_setup.mirror import gitobj, http
from gator_setup.mirror.http import json_response
from gator_setup.mirror.ids import (
    REPO_TYPES,
    HubError,
    RepoRef,
    check_branch_name,
    check_path,
    check_revision,
    is_sha,
    parse_repo,
)
from gator_setup.mirror.ndjson import commit_lines
from gator_setup.mirror.state import public_base, state_of, user_of
from gator_setup.mirror.store import BlobMismatch, FileEntry, Store, atomic_write_json, make_entry
from gator_setup.mirror.uploads import LinkCheck


def _writer(request: web.Request, ref: RepoRef) -> str:
    user = state_of(request).auth.check_write(ref, user_of(request))
    return user.name


async def json_body(request: web.Request) -> dict[str, Any]:
    """The (small) body as a JSON object; 400 for anything else, 408 when it stalls."""
    return await http.json_body(request, state_of(request).config.body_timeout)


def _str_field(body: dict[str, Any], key: str, default: str = "") -> str:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise HubError(400, "BadRequest", f"'{key}' must be a string.")
    return value


def _bool_field(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise HubError(400, "BadRequest", f"'{key}' must be true or false.")
    return value


def _writable_repo(request: web.Request, ref: RepoRef) -> dict[str, Any]:
    state = state_of(request)
    meta = state.store.repo_meta(ref)
    if meta is None or meta.get("upstream"):
        raise HubError(404, "RepoNotFound", f"Repository {ref.id} not found (or is an upstream mirror copy).")
    return meta


async def create_repo(request: web.Request) -> web.Response:
    """POST /api/repos/create."""
    state = state_of(request)
    user = user_of(request)
    body = await json_body(request)
    rtype = _str_field(body, "type", "model") or "model"
    if rtype not in REPO_TYPES:
        raise HubError(400, "BadRequest", "Invalid repo type.")
    name = _str_field(body, "name")
    org = _str_field(body, "organization") or (user.name if user else "")
    if "/" in name and not body.get("organization"):
        org, name = name.split("/", 1)
    ref = parse_repo(rtype, org, name)
    user = state.auth.check_write(ref, user)
    private = _bool_field(body, "private") or _str_field(body, "visibility") == "private"
    sdk = body.get("sdk")
    if rtype == "space" and sdk not in (None, "gradio", "streamlit", "docker", "static"):
        raise HubError(400, "BadRequest", f"Invalid Space SDK {sdk!r}.")
    url = f"{public_base(request)}/{ref.url_path}"
    created = state.store.create_repo(ref, private=private, sdk=sdk, author=user.name, exist_ok=True)
    payload = {"url": url, "name": ref.id, "id": ref.id}
    if not created:
        payload["error"] = "You already created this repo"
        return json_response(
            payload, status=409, headers={"X-Error-Message": "You already created this repo"}
        )
    return json_response(payload)


async def delete_repo(request: web.Request) -> web.Response:
    """DELETE /api/repos/delete."""
    state = state_of(request)
    body = await json_body(request)
    ref = parse_repo(
        _str_field(body, "type", "model") or "model",
        _str_field(body, "organization"),
        _str_field(body, "name"),
    )
    _writer(request, ref)
    _writable_repo(request, ref)
    state.store.delete_repo(ref)
    return json_response({})


async def update_settings(request: web.Request, ref: RepoRef) -> web.Response:
    """PUT /api/{type}s/{repo}/settings: private / gated."""
    state = state_of(request)
    _writer(request, ref)
    meta = _writable_repo(request, ref)
    body = await json_body(request)
    if "private" in body:
        meta["private"] = _bool_field(body, "private")
    if "visibility" in body:
        meta["private"] = _str_field(body, "visibility") == "private"
    if "gated" in body:
        meta["gated"] = body["gated"] if body["gated"] in ("auto", "manual") else False
    state.store.write_meta(ref, meta)
    return json_response({"private": meta["private"], "gated": meta.get("gated") or False})


async def preupload(request: web.Request, ref: RepoRef, rev: str) -> web.Response:
    """POST /api/{type}s/{repo}/preupload/{rev}: `lfs` by the Hub's rules, else `regular`.

    `lfs` files then arrive through Xet (huggingface_hub with hf_xet, xet_routes.py) or the LFS batch
    API (lfs_upload.py); with --no-lfs-uploads every file is `regular` and travels inside the commit
    request, streamed to disk.
    """
    state = state_of(request)
    _writer(request, ref)
    _writable_repo(request, ref)
    body = await json_body(request)
    files = body.get("files")
    if not isinstance(files, list) or len(files) > 1000:
        raise HubError(400, "BadRequest", "'files' must be a list of at most 1000 entries.")
    head = state.store.resolve(ref, check_revision(rev))
    current = (state.store.get_commit(ref, head) or {}).get("files", {}) if head else {}
    out = []
    for f in files:
        if not isinstance(f, dict):
            raise HubError(400, "BadRequest", "Each file must be an object.")
        path = check_path(_str_field(f, "path"))
        size = f.get("size", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise HubError(400, "BadRequest", f"Invalid size for {path}.")
        entry = current.get(path)
        if state.config.lfs_uploads and _hub_says_lfs(path, size, _str_field(f, "sample")):
            # The client compares this with the sha256 of its file to skip unchanged ones.
            oid = entry.get("sha256") if entry else None
            out.append({"path": path, "uploadMode": "lfs", "shouldIgnore": False, "oid": oid})
            continue
        # With the current content's git sha1 as `oid`, the client drops unchanged files itself.
        oid = (entry.get("gitsha1") or (None if entry.get("lfs") else entry.get("oid"))) if entry else None
        out.append({"path": path, "uploadMode": "regular", "shouldIgnore": False, "oid": oid})
    return json_response({"files": out, "commitOid": head})


def _hub_says_lfs(path: str, size: int, sample_b64: str) -> bool:
    """The Hub's rule: LFS by suffix (its default .gitattributes) or size, or binary content."""
    if gitobj.is_lfs_path(path, size):
        return True
    try:
        sample = base64.b64decode(sample_b64, validate=True)
    except (binascii.Error, ValueError):
        raise HubError(400, "BadRequest", f"Invalid sample for {path}.") from None
    return b"\x00" in sample


async def commit(request: web.Request, ref: RepoRef, rev: str) -> web.Response:
    """POST /api/{type}s/{repo}/commit/{rev} (NDJSON: header, file, lfsFile, deletedFile/Folder, copyFile).

    File contents stream to disk as they arrive (bounded memory); at most `max_uploads` commit or
    upload bodies are received at once.
    """
    state = state_of(request)
    author = _writer(request, ref)
    _writable_repo(request, ref)
    branch = check_branch_name(rev)
    if request.query.get("create_pr") in ("1", "true"):
        raise HubError(
            400, "BadRequest", "Pull requests are not supported by gator mirror; commit to a branch."
        )
    async with state.uploads():
        header, adds, deletes = await _read_commit(request, ref, author, branch)
    summary = _str_field(header, "summary") or "Upload files with gator mirror"
    description = _str_field(header, "description")
    message = summary + ("\n\n" + description if description else "")
    parent = _str_field(header, "parentCommit") or None
    if parent is not None and not is_sha(parent):
        # A prefix would let a client "match" a head it never saw.
        raise HubError(400, "BadRequest", "parentCommit must be a full 40-character commit id.")
    # Deletions apply before additions within one commit, so a re-added path survives.
    deletes = [d for d in deletes if d not in adds]
    sha, _created = state.store.commit(
        ref, branch, adds=adds, deletes=deletes, message=message, author=author, parent=parent
    )
    return json_response(
        {
            "commitUrl": f"{public_base(request)}/{ref.url_path}/commit/{sha}",
            "commitOid": sha,
            "commitMessage": summary,
            "hookOutput": "",
            "success": True,
        }
    )


async def _read_commit(
    request: web.Request, ref: RepoRef, author: str, branch: str
) -> tuple[dict[str, Any], dict[str, FileEntry], list[str]]:
    state = state_of(request)
    header: dict[str, Any] = {}
    adds: dict[str, FileEntry] = {}
    deletes: list[str] = []
    head = state.store.resolve(ref, branch)
    current = (state.store.get_commit(ref, head) or {}).get("files", {}) if head else {}
    may_link = LinkCheck(state.store, ref, author)  # one read of the grants for all lfsFile lines
    # Git ids of content already known (sha256 -> gitsha1): linking a big object again, on many lines
    # or in a later commit, must not read all of its bytes back each time.
    gitsha1s = {e["sha256"]: e["gitsha1"] for e in current.values() if e.get("sha256") and e.get("gitsha1")}
    lines = commit_lines(
        request.content,
        state.store,
        read_timeout=state.config.body_timeout,
        max_size=state.config.max_file_size,
    )
    async for line in lines:
        obj = line.obj
        if not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
            raise HubError(400, "BadRequest", "Malformed NDJSON commit line.")
        key, value = obj["key"], obj.get("value")
        if not isinstance(value, dict):
            raise HubError(400, "BadRequest", "Malformed NDJSON commit value.")
        if line.blob is not None and key != "file":
            raise HubError(400, "BadRequest", "Unexpected content in a commit line.")
        if key == "header":
            header = value
        elif key == "file":
            path = check_path(_str_field(value, "path"))
            if _str_field(value, "encoding", "base64") != "base64" or line.blob is None:
                raise HubError(400, "BadRequest", f"File {path}: only base64 content is supported.")
            blob = line.blob
            adds[path] = await _entry(state.store, path, blob["sha256"], blob["size"], None)
        elif key == "lfsFile":
            path = check_path(_str_field(value, "path"))
            adds[path] = await _lfs_entry(state.store, may_link, gitsha1s, path, value)
        elif key in ("deletedFile", "deletedFolder"):
            path = check_path(_str_field(value, "path").rstrip("/"))
            if key == "deletedFile" and path not in current and path not in adds:
                raise HubError(404, "EntryNotFound", f"Cannot delete {path}: not in {branch}.")
            deletes.append(path)
        elif key == "copyFile":
            src, dst = check_path(_str_field(value, "srcPath")), check_path(_str_field(value, "path"))
            if src not in current:
                raise HubError(404, "EntryNotFound", f"Cannot copy {src}: not in {branch}.")
            adds[dst] = dict(current[src])
        else:
            raise HubError(400, "BadRequest", "Unknown commit operation.")
    return header, adds, deletes


async def _entry(store: Store, path: str, sha256: str, size: int, lfs: bool | None) -> FileEntry:
    # make_entry reads the blob back for its git id: a worker thread, not the event loop.
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        None, functools.partial(make_entry, path, sha256, size, store.blob_path(sha256), lfs=lfs)
    )


async def _lfs_entry(
    store: Store, may_link: LinkCheck, gitsha1s: dict[str, str], path: str, value: dict[str, Any]
) -> FileEntry:
    """An `lfsFile` line: only an object this writer uploaded here, or one this repo already holds."""
    oid, size, algo = value.get("oid"), value.get("size"), value.get("algo", "sha256")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0 or algo != "sha256":
        raise HubError(400, "BadRequest", f"lfsFile {path}: 'size' must be an integer, 'algo' sha256.")
    # One answer whether or not the object is stored elsewhere: the store is not an oracle.
    # In a thread: the first line reads the grants (and maybe every commit of the repo).
    if not await asyncio.to_thread(may_link, oid):
        raise HubError(422, "LfsObjectMissing", f"LFS object for {path} was never uploaded to this repo.")
    assert isinstance(oid, str)
    if store.blob_path(oid).stat().st_size != size:
        raise HubError(400, "BadRequest", f"lfsFile {path}: size {size} does not match the uploaded object.")
    if oid in gitsha1s:
        pointer = gitobj.lfs_pointer(oid, size)
        pointer_oid = hashlib.sha1(gitobj.blob_header(len(pointer)) + pointer).hexdigest()
        return {"sha256": oid, "size": size, "oid": pointer_oid, "lfs": True, "gitsha1": gitsha1s[oid]}
    entry = await _entry(store, path, oid, size, True)
    gitsha1s[oid] = str(entry["gitsha1"])
    return entry


async def branch(request: web.Request, ref: RepoRef, name: str) -> web.Response:
    """POST/DELETE /api/{type}s/{repo}/branch/{name}: create (from `startingPoint`) or delete a branch."""
    state = state_of(request)
    _writer(request, ref)
    _writable_repo(request, ref)
    check_branch_name(name)
    refs = state.store.refs(ref)
    if request.method == "DELETE":
        if name == "main" or name not in refs["branches"]:
            raise HubError(
                404 if name != "main" else 403, "RevisionNotFound", f"Cannot delete branch {name}."
            )
        with state.store.repo_lock(ref):
            refs = state.store.refs(ref)
            del refs["branches"][name]
            atomic_write_json(state.store.repo_dir(ref) / "refs.json", refs)
        return json_response({})
    body = await json_body(request) if request.can_read_body else {}
    if name in refs["branches"]:
        raise HubError(409, None, f"Branch {name} already exists.")
    start = state.store.resolve(ref, check_revision(_str_field(body, "startingPoint") or "main"))
    if start is None:
        raise HubError(404, "RevisionNotFound", "Starting point not found.")
    state.store.set_ref(ref, name, start)
    return json_response({})


async def space_settings(request: web.Request, ref: RepoRef, kind: str) -> web.Response:
    """Space secrets / variables: POST adds, DELETE removes, GET lists (secret values never returned).

    Whoever may not read the Space gets exactly the answer of a missing one, whatever the method.
    """
    state = state_of(request)
    user = user_of(request)
    meta = state.store.repo_meta(ref)
    state.auth.check_read(ref, meta, user)
    meta = _writable_repo(request, ref)
    if request.method == "GET":
        data = state.store.read_settings(ref, kind)
        if kind == "secrets":
            return json_response(
                {
                    k: {"description": v.get("description"), "updatedAt": v.get("updatedAt")}
                    for k, v in data.items()
                }
            )
        return json_response(data)
    if request.method not in ("POST", "DELETE"):
        raise HubError(405, None, "Method not allowed.")
    _writer(request, ref)
    body = await json_body(request)
    key = _str_field(body, "key")
    if not key or not key.replace("_", "a").isalnum() or not key.isascii() or len(key) > 128:
        raise HubError(400, "BadRequest", "Invalid key: letters, digits and underscores.")
    data = state.store.read_settings(ref, kind)
    if request.method == "POST":
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            raise HubError(400, "BadRequest", "'description' must be a string.")
        data[key] = {
            "value": _str_field(body, "value"),
            "description": description,
            "updatedAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        }
    else:
        data.pop(key, None)
    state.store.write_settings(ref, kind, data)
    if kind == "secrets":
        os.chmod(state.store.repo_dir(ref) / "secrets.json", 0o600)
    return json_response({})


__all__ = ["BlobMismatch"]
