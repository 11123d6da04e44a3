"""Write protocol: repos/create (409 with url), preupload (regular), NDJSON commit, branches, settings,
Space secrets and variables."""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from typing import Any

from aiohttp import web

from gator_setup.mirror.http import json_response
from gator_setup.mirror.ids import (
    REPO_TYPES,
    HubError,
    RepoRef,
    check_branch_name,
    check_path,
    check_revision,
    parse_repo,
)
from gator_setup.mirror.state import public_base, state_of, user_of
from gator_setup.mirror.store import BlobMismatch, FileEntry, atomic_write_json, make_entry

MAX_LINE = 8 * 1024 * 1024 * 1024  # one NDJSON line (a base64 file) may be large, but not unbounded


def _writer(request: web.Request, ref: RepoRef) -> str:
    user = state_of(request).auth.check_write(ref, user_of(request))
    return user.name


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise HubError(400, "BadRequest", "Body must be JSON.") from None
    if not isinstance(data, dict):
        raise HubError(400, "BadRequest", "Body must be a JSON object.")
    return data


def _writable_repo(request: web.Request, ref: RepoRef) -> dict[str, Any]:
    state = state_of(request)
    meta = state.store.repo_meta(ref)
    if meta is None or meta.get("upstream"):
        raise HubError(404, "RepoNotFound", f"Repository {ref.id} not found (or is an upstream mirror copy).")
    return meta


async def create_repo(request: web.Request) -> web.Response:
    """POST /api/repos/create."""
    state = state_of(request)
    body = await _json_body(request)
    rtype = body.get("type") or "model"
    if rtype not in REPO_TYPES:
        raise HubError(400, "BadRequest", f"Invalid repo type {rtype!r}.")
    user = user_of(request)
    name = str(body.get("name") or "")
    org = body.get("organization") or (user.name if user else "")
    if "/" in name and not body.get("organization"):
        org, name = name.split("/", 1)
    ref = parse_repo(rtype, str(org), name)
    user = state.auth.check_write(ref, user)
    private = bool(body.get("private")) or body.get("visibility") == "private"
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
    body = await _json_body(request)
    ref = parse_repo(
        body.get("type") or "model", str(body.get("organization") or ""), str(body.get("name") or "")
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
    body = await _json_body(request)
    if "private" in body:
        meta["private"] = bool(body["private"])
    if "visibility" in body:
        meta["private"] = body["visibility"] == "private"
    if "gated" in body:
        meta["gated"] = body["gated"] if body["gated"] in ("auto", "manual") else False
    state.store.write_meta(ref, meta)
    return json_response({"private": meta["private"], "gated": meta.get("gated") or False})


async def preupload(request: web.Request, ref: RepoRef, rev: str) -> web.Response:
    """POST /api/{type}s/{repo}/preupload/{rev}: every file is `regular` (no LFS or Xet round trip)."""
    state = state_of(request)
    _writer(request, ref)
    _writable_repo(request, ref)
    body = await _json_body(request)
    files = body.get("files")
    if not isinstance(files, list) or len(files) > 1000:
        raise HubError(400, "BadRequest", "'files' must be a list of at most 1000 entries.")
    head = state.store.resolve(ref, check_revision(rev))
    current = (state.store.get_commit(ref, head) or {}).get("files", {}) if head else {}
    out = []
    for f in files:
        if not isinstance(f, dict):
            raise HubError(400, "BadRequest", "Each file must be an object.")
        path = check_path(str(f.get("path", "")))
        entry = current.get(path)
        # With the current content's git sha1 as `oid`, the client drops unchanged files itself.
        oid = (entry.get("gitsha1") or (None if entry.get("lfs") else entry.get("oid"))) if entry else None
        out.append({"path": path, "uploadMode": "regular", "shouldIgnore": False, "oid": oid})
    return json_response({"files": out, "commitOid": head})


async def _ndjson_lines(request: web.Request) -> Any:
    buf = bytearray()
    async for chunk in request.content.iter_any():
        buf += chunk
        if len(buf) > MAX_LINE:
            raise HubError(413, "PayloadTooLarge", "Commit line too large.")
        while (nl := buf.find(b"\n")) >= 0:
            line = bytes(buf[:nl])
            del buf[: nl + 1]
            if line.strip():
                yield line
    if buf.strip():
        yield bytes(buf)


async def commit(request: web.Request, ref: RepoRef, rev: str) -> web.Response:
    """POST /api/{type}s/{repo}/commit/{rev} (NDJSON: header, file, lfsFile, deletedFile/Folder)."""
    state = state_of(request)
    author = _writer(request, ref)
    _writable_repo(request, ref)
    branch = check_branch_name(rev)
    if request.query.get("create_pr") in ("1", "true"):
        raise HubError(
            400, "BadRequest", "Pull requests are not supported by gator mirror; commit to a branch."
        )
    header: dict[str, Any] = {}
    adds: dict[str, FileEntry] = {}
    deletes: list[str] = []
    head = state.store.resolve(ref, branch)
    current = (state.store.get_commit(ref, head) or {}).get("files", {}) if head else {}
    async for line in _ndjson_lines(request):
        try:
            obj = json.loads(line)
            key, value = obj["key"], obj["value"]
        except (ValueError, KeyError, TypeError):
            raise HubError(400, "BadRequest", "Malformed NDJSON commit line.") from None
        if not isinstance(value, dict):
            raise HubError(400, "BadRequest", "Malformed NDJSON commit value.")
        if key == "header":
            header = value
        elif key == "file":
            path = check_path(str(value.get("path", "")))
            if value.get("encoding", "base64") != "base64":
                raise HubError(400, "BadRequest", "Only base64 file content is supported.")
            try:
                data = base64.b64decode(value.get("content", ""), validate=True)
            except (binascii.Error, ValueError):
                raise HubError(400, "BadRequest", f"Invalid base64 content for {path}.") from None
            try:
                blob = state.store.put_bytes(data)
            except OSError as exc:
                raise HubError(507, "InsufficientStorage", f"Cannot store {path}: {exc.strerror}") from None
            del data
            adds[path] = make_entry(path, blob["sha256"], blob["size"], state.store.blob_path(blob["sha256"]))
        elif key == "lfsFile":
            path = check_path(str(value.get("path", "")))
            oid, size = str(value.get("oid", "")), value.get("size")
            try:
                present = state.store.has_blob(oid)
            except ValueError:
                present = False
            if not present:
                raise HubError(422, "LfsObjectMissing", f"LFS object {oid} for {path} was never uploaded.")
            adds[path] = make_entry(path, oid, int(size or 0), state.store.blob_path(oid), lfs=True)
        elif key in ("deletedFile", "deletedFolder"):
            path = check_path(str(value.get("path", "")).rstrip("/"))
            if key == "deletedFile" and path not in current and path not in adds:
                raise HubError(404, "EntryNotFound", f"Cannot delete {path}: not in {branch}.")
            deletes.append(path)
        elif key == "copyFile":
            src, dst = check_path(str(value.get("srcPath", ""))), check_path(str(value.get("path", "")))
            if src not in current:
                raise HubError(404, "EntryNotFound", f"Cannot copy {src}: not in {branch}.")
            adds[dst] = dict(current[src])
        else:
            raise HubError(400, "BadRequest", f"Unknown commit operation {key!r}.")
    summary = str(header.get("summary") or "Upload files with gator mirror")
    message = summary + ("\n\n" + str(header["description"]) if header.get("description") else "")
    # Deletions apply before additions within one commit, so a re-added path survives.
    deletes = [d for d in deletes if d not in adds]
    sha, _created = state.store.commit(
        ref,
        branch,
        adds=adds,
        deletes=deletes,
        message=message,
        author=author,
        parent=header.get("parentCommit"),
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
    body = await _json_body(request) if request.can_read_body else {}
    if name in refs["branches"]:
        raise HubError(409, None, f"Branch {name} already exists.")
    start = state.store.resolve(ref, check_revision(str(body.get("startingPoint") or "main")))
    if start is None:
        raise HubError(404, "RevisionNotFound", "Starting point not found.")
    state.store.set_ref(ref, name, start)
    return json_response({})


async def space_settings(request: web.Request, ref: RepoRef, kind: str) -> web.Response:
    """Space secrets / variables: POST adds, DELETE removes, GET lists (secret values never returned)."""
    state = state_of(request)
    meta = _writable_repo(request, ref)
    if request.method == "GET":
        state.auth.check_read(ref, meta, user_of(request))
        data = state.store.read_settings(ref, kind)
        if kind == "secrets":
            return json_response(
                {
                    k: {"description": v.get("description"), "updatedAt": v.get("updatedAt")}
                    for k, v in data.items()
                }
            )
        return json_response(data)
    _writer(request, ref)
    body = await _json_body(request)
    key = str(body.get("key", ""))
    if not key or not key.replace("_", "a").isalnum() or len(key) > 128:
        raise HubError(400, "BadRequest", "Invalid key: letters, digits and underscores.")
    data = state.store.read_settings(ref, kind)
    if request.method == "POST":
        data[key] = {
            "value": str(body.get("value", "")),
            "description": body.get("description"),
            "updatedAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        }
    elif request.method == "DELETE":
        data.pop(key, None)
    else:
        raise HubError(405, None, "Method not allowed.")
    state.store.write_settings(ref, kind, data)
    if kind == "secrets":
        os.chmod(state.store.repo_dir(ref) / "secrets.json", 0o600)
    return json_response({})


__all__ = ["BlobMismatch"]
