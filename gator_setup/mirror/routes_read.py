"""Read protocol: resolve (HEAD/GET), repo info, tree listing with paging, paths-info, refs, whoami."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from gator_setup.mirror import cards, gitobj, history
from gator_setup.mirror.entries import Located, file_headers
from gator_setup.mirror.http import blob_response, json_body, json_response
from gator_setup.mirror.ids import HubError, RepoRef, check_path, check_revision
from gator_setup.mirror.state import public_base, state_of, user_of
from gator_setup.mirror.treeindex import BadCursor, decode_cursor, encode_cursor


async def locate(request: web.Request, ref: RepoRef, rev: str) -> Located:
    """Check access and resolve `rev` of `ref` to a commit (from the store, or through the upstream)."""
    state = state_of(request)
    check_revision(rev)
    meta = state.store.repo_meta(ref)
    if state.pull is not None and (meta is None or meta.get("upstream")):
        # Upstream repos are judged upstream, with the caller's upstream credential (never a local token).
        caller = state.auth.upstream_caller(request.headers.get("Authorization"))
        return await state.pull.locate(caller, ref, rev, meta)
    state.auth.check_read(ref, meta, user_of(request))
    assert meta is not None
    sha = state.store.resolve(ref, rev)
    commit = state.store.get_commit(ref, sha) if sha else None
    if sha is None or commit is None:
        raise HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")
    return Located(meta, sha, commit)


async def locate_file(
    request: web.Request, ref: RepoRef, rev: str, path: str
) -> tuple[Located, dict[str, Any]]:
    """A file entry the caller may read, decided before any byte of it is sent, whatever is stored.

    Every route that sends file content goes through here: the repo and revision must be readable
    by the caller (local rules or the upstream's verdict) and, for gated upstream repos, the content.
    """
    state = state_of(request)
    check_path(path)
    loc = await locate(request, ref, rev)
    entry = loc.commit["files"].get(path)
    if entry is None:
        raise HubError(404, "EntryNotFound", f"Entry not found: {path}", commit=loc.sha)
    if not loc.local and state.pull is not None:
        await state.pull.authorize_file(ref, loc, path)
    return loc, entry


async def resolve(request: web.Request, ref: RepoRef, rev: str, path: str) -> web.StreamResponse:
    """HEAD/GET /{repo}/resolve/{rev}/{path}."""
    state = state_of(request)
    loc, entry = await locate_file(request, ref, rev, path)
    headers = {**file_headers(loc.sha, entry), **loc.extra_headers}
    if rev != loc.sha:
        # Pin branch requests to the commit on this same host (relative Location, full headers on both
        # hops): HEAD and the following GET then read the same commit even if the branch moves between
        # them. Clients up to 1.29 follow relative redirects on HEAD; 1.30+ follow same-origin ones.
        headers["Location"] = f"/{ref.url_path}/resolve/{loc.sha}/{quote(path)}"
        headers["X-Linked-Size"] = str(entry["size"])
        return web.Response(status=307, headers=headers)
    # Small files of upstream copies (pinned, pulled through) are found by their git blob id.
    sha256 = entry.get("sha256") or state.store.sha256_for_oid(str(entry["oid"]))
    if sha256 and state.store.has_blob(sha256):
        state.store.touch_blob(sha256)
        if request.method == "GET":
            state.stats["served_bytes"] += int(entry["size"])
        return await blob_response(request, state.store.blob_path(sha256), int(entry["size"]), headers)
    if state.pull is not None and not loc.local:
        resp: web.StreamResponse = await state.pull.serve_file(request, ref, loc, path, entry, headers)
        return resp
    raise HubError(503, "BlobMissing", f"Content of {path} is missing from the store; re-import the repo.")


def _iso_commit_time(commit: dict[str, Any]) -> str:
    return str(commit.get("time") or "1970-01-01T00:00:00.000Z")


async def repo_info(
    request: web.Request, ref: RepoRef, rev: str, *, default_rev: bool = False
) -> web.Response:
    """GET /api/{type}s/{repo}[/revision/{rev}]."""
    loc = await locate(request, ref, rev)
    files = loc.commit["files"]
    blobs = request.query.get("blobs", "").lower() in ("1", "true")
    siblings: list[dict[str, Any]] = []
    for path in sorted(files):
        sib: dict[str, Any] = {"rfilename": path}
        if blobs:
            e = files[path]
            sib.update(size=e["size"], blobId=e["oid"])
            if e.get("lfs"):
                sib["lfs"] = {"sha256": e["sha256"], "size": e["size"], "pointerSize": _pointer_size(e)}
        siblings.append(sib)
    meta = loc.meta
    # Local repos: cardData and tags from the README's front matter (upstream copies keep the upstream's).
    card = cards.card_fields(state_of(request).store, loc.commit, ref.type) if loc.local else {}
    extra = dict(meta.get("info") or card)
    info: dict[str, Any] = {
        **extra,
        "_id": loc.sha[:24],
        "id": ref.id,
        "author": ref.namespace,
        "sha": loc.sha,
        "private": bool(meta.get("private")),
        "gated": meta.get("gated") or False,
        "disabled": False,
        "downloads": int(extra.get("downloads", 0)),
        "likes": int(extra.get("likes", 0)),
        "tags": list(extra.get("tags", [])),
        "lastModified": extra.get("lastModified") or _iso_commit_time(loc.commit),
        "createdAt": meta.get("created_at") or _iso_commit_time(loc.commit),
        "siblings": siblings,
    }
    if ref.type == "model":
        info["modelId"] = ref.id
    if ref.type == "space":
        info["sdk"] = meta.get("sdk")
        info.setdefault("runtime", {"stage": "RUNNING", "hardware": {"current": None, "requested": None}})
    return json_response(info, headers=loc.extra_headers)


def _pointer_size(entry: dict[str, Any]) -> int:
    return len(gitobj.lfs_pointer(str(entry["sha256"]), int(entry["size"])))


async def tree(request: web.Request, ref: RepoRef, rev: str, sub: str) -> web.Response:
    """GET /api/{type}s/{repo}/tree/{rev}[/{path}] with `recursive`, `cursor`, `limit` and a Link header."""
    state = state_of(request)
    if sub:
        check_path(sub)
    loc = await locate(request, ref, rev)
    recursive = request.query.get("recursive", "").lower() in ("1", "true")
    index = state.store.tree_index(ref, loc.commit)
    if sub and not index.is_dir(sub):
        if sub in loc.commit["files"]:
            raise HubError(400, "BadRequest", f"{sub} is a file, not a directory.")
        raise HubError(404, "EntryNotFound", f"{sub} does not exist on {rev}", commit=loc.sha)
    try:
        limit = int(request.query.get("limit", state.config.tree_page_size))
        after = decode_cursor(request.query["cursor"]) if "cursor" in request.query else None
    except (ValueError, BadCursor):
        raise HubError(400, "BadRequest", "Invalid cursor or limit.") from None
    limit = max(1, min(limit, state.config.tree_page_size))
    page, more = index.page(sub, recursive, after, limit)
    if request.query.get("expand", "").lower() in ("1", "true") and loc.local:
        page = [dict(e) for e in page]  # index entries are shared by every request: add to copies
        history.add_last_commits(state.store, ref, loc.sha, page)  # expand=true: lastCommit per entry
    headers = dict(loc.extra_headers)
    if more and page:
        query = {k: v for k, v in request.query.items() if k != "cursor"}
        query["cursor"] = encode_cursor(page[-1]["path"])
        # Absolute, pointing at this mirror: clients follow the Link verbatim.
        headers["Link"] = f'<{public_base(request)}{request.rel_url.raw_path}?{urlencode(query)}>; rel="next"'
    return json_response(page, headers=headers)


async def paths_info(request: web.Request, ref: RepoRef, rev: str) -> web.Response:
    """POST /api/{type}s/{repo}/paths-info/{rev}: entries for the listed paths (missing ones omitted)."""
    state = state_of(request)
    loc = await locate(request, ref, rev)
    timeout = state.config.body_timeout
    if request.content_type == "application/json":
        body = await json_body(request, timeout)
        listed, expand = body.get("paths", []), body.get("expand", "")
        if not isinstance(listed, list):
            raise HubError(400, "BadRequest", "'paths' must be a list.")
    else:
        try:
            form = await asyncio.wait_for(request.post(), timeout)
            listed, expand = form.getall("paths", []), form.get("expand", "")
        except asyncio.TimeoutError:
            raise HubError(408, "RequestTimeout", "The request body stalled.") from None
        except ValueError:
            raise HubError(400, "BadRequest", "Malformed form body.") from None
    paths = [p for p in listed if isinstance(p, str)]
    index = state.store.tree_index(ref, loc.commit)
    result: list[dict[str, Any]] = []
    for p in paths[:1000]:
        e = index.get(str(p).strip("/"))
        if e is not None:
            result.append(e)
    if str(expand).lower() in ("1", "true") and loc.local:
        result = [dict(e) for e in result]  # index entries are shared by every request: add to copies
        history.add_last_commits(state.store, ref, loc.sha, result)
    return json_response(result, headers=loc.extra_headers)


async def list_refs(request: web.Request, ref: RepoRef) -> web.Response:
    """GET /api/{type}s/{repo}/refs."""
    state = state_of(request)
    loc = await locate(request, ref, "main")
    refs = state.store.refs(ref)
    branches = refs["branches"] or {"main": loc.sha}
    # `pullRequests` only when asked for, as the Hub (huggingface_hub reads it with include_pull_requests).
    with_prs = request.query.get("include_prs") in ("1", "true")
    prs: dict[str, list[Any]] = {"pullRequests": []} if with_prs else {}
    return json_response(
        {
            **prs,
            "branches": [
                {"name": n, "ref": f"refs/heads/{n}", "targetCommit": s} for n, s in branches.items()
            ],
            "tags": [
                {"name": n, "ref": f"refs/tags/{n}", "targetCommit": s} for n, s in refs["tags"].items()
            ],
            "converts": [],
        }
    )


async def whoami(request: web.Request) -> web.Response:
    """GET /api/whoami-v2 for a known token."""
    user = user_of(request)
    if user is None:
        raise HubError(401, None, "Invalid credentials in Authorization header")
    role = "write" if user.write else "read"
    # Not a Hub field: in open development mode any token may write to every namespace, and clients
    # that decide from whoami alone (gator space deploy's pre-check) must know it to agree with us.
    open_mode = {"gator": {"openMode": True}} if user.anywhere else {}
    return json_response(
        {
            "type": "user",
            "id": user.name,
            "name": user.name,
            "fullname": user.name,
            "email": None,
            "emailVerified": False,
            "canPay": False,
            "isPro": False,
            "orgs": [_org_entry(org, role) for org, role in user.orgs],
            "auth": {"type": "access_token", "accessToken": {"displayName": "gator", "role": role}},
            **open_mode,
        }
    )


def _org_entry(org: str, role: str) -> dict[str, Any]:
    """An org as whoami-v2 lists it on the Hub; clients read `name` and `roleInOrg`."""
    return {
        "type": "org",
        "id": org,
        "name": org,
        "fullname": org,
        "email": None,
        "canPay": False,
        "periodEnd": None,
        "isEnterprise": False,
        "roleInOrg": role,
    }
