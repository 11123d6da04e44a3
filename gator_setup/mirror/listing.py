"""Repo listings: GET /api/models, /api/datasets, /api/spaces (author, search, filter, sort, limit, Link
pagination) and the storage listings of `hf repos ls` (/api/settings/repositories, per org)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from gator_setup.mirror import cards, hubctx
from gator_setup.mirror.http import json_response
from gator_setup.mirror.ids import HubError, RepoRef

# Sort keys the Hub accepts (the client maps last_modified/created_at to these) and how each orders.
SORT_KEYS = ("id", "downloads", "likes", "lastModified", "createdAt", "trendingScore")
TRUE = ("1", "true", "True")


def _item(state: Any, ref: RepoRef, meta: dict[str, Any], full: bool, with_card: bool) -> dict[str, Any]:
    store = state.store
    info = dict(meta.get("info") or {})
    head = store.resolve(ref, "main")
    commit = (store.get_commit(ref, head) if head else None) or {}
    card = cards.card_fields(store, commit, ref.type) if commit else {}
    item: dict[str, Any] = {
        "_id": (head or ref.id)[:24],
        "id": ref.id,
        "author": ref.namespace,
        "private": bool(meta.get("private")),
        "gated": meta.get("gated") or False,
        "disabled": False,
        "downloads": int(info.get("downloads", 0)),
        "likes": int(info.get("likes", 0)),
        "trendingScore": 0,
        "tags": list(info.get("tags") or card.get("tags") or []),
        "lastModified": info.get("lastModified") or commit.get("time") or meta.get("created_at"),
        "createdAt": meta.get("created_at"),
    }
    if head:
        item["sha"] = head
    if ref.type == "model":
        item["modelId"] = ref.id
        for key in ("library_name", "pipeline_tag"):
            if card.get(key) or info.get(key):
                item[key] = info.get(key) or card.get(key)
    if ref.type == "space":
        item["sdk"] = meta.get("sdk")
    if with_card and (card.get("cardData") or info.get("cardData")):
        item["cardData"] = info.get("cardData") or card["cardData"]
    if full:
        item["siblings"] = [{"rfilename": p} for p in sorted(commit.get("files", {}))]
    return item


def _sort_key(key: str) -> Any:
    if key == "id":
        return lambda it: it["id"].lower()
    if key in ("lastModified", "createdAt"):
        return lambda it: it.get(key) or ""
    return lambda it: it.get(key) or 0


async def list_repos(request: web.Request, rtype: str) -> web.Response:
    """One page of the repos of type `rtype` the caller may see, with a `Link: rel="next"` to the next."""
    state = hubctx.state_of(request)
    user = hubctx.caller(request)
    q = request.query
    author = q.get("author")
    search = (q.get("search") or "").lower()
    filters = q.getall("filter", [])
    sort = q.get("sort") or "id"
    if sort not in SORT_KEYS:
        raise HubError(400, "BadRequest", f"Invalid sort {sort!r}; use one of {', '.join(SORT_KEYS)}.")
    # The Hub sorts descending except by id; `direction=1` asks for ascending.
    descending = q.get("direction", "-1" if sort != "id" else "1") == "-1"
    full = q.get("full") in TRUE
    with_card = q.get("cardData") in TRUE or full
    try:
        limit = int(q["limit"]) if "limit" in q else None
        start = int(base64.urlsafe_b64decode(q["cursor"]).decode()) if "cursor" in q else 0
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise HubError(400, "BadRequest", "Invalid cursor or limit.") from None
    if (limit is not None and limit < 1) or start < 0:
        raise HubError(400, "BadRequest", "Invalid cursor or limit.")
    items = []
    for ref in state.store.list_repos():
        if ref.type != rtype or (author and ref.namespace != author):
            continue
        if search and search not in ref.id.lower():
            continue
        meta = state.store.repo_meta(ref)
        if meta is None or not hubctx.may_list(state, ref, meta, user):
            continue
        if "gated" in q and bool(meta.get("gated")) != (q["gated"] in TRUE):
            continue
        item = _item(state, ref, meta, full, with_card)
        if filters and not all(f in item["tags"] or f == ref.id for f in filters):
            continue
        if "pipeline_tag" in q and item.get("pipeline_tag") != q["pipeline_tag"]:
            continue
        items.append(item)
    items.sort(key=_sort_key(sort), reverse=descending)
    if limit is not None:
        items = items[:limit]
    page_size = state.config.list_page_size
    page = items[start : start + page_size]
    if expand := q.getall("expand", []) + q.getall("expand[]", []):
        # Only the asked-for properties (and id), as the Hub does with expand.
        page = [{k: v for k, v in it.items() if k in ("id", "_id", *expand)} for it in page]
    headers = {}
    if start + page_size < len(items):
        query = [(k, v) for k, v in q.items() if k != "cursor"]
        query.append(("cursor", base64.urlsafe_b64encode(str(start + page_size).encode()).decode()))
        headers["Link"] = f'<{hubctx.public_base(request)}/api/{rtype}s?{urlencode(query)}>; rel="next"'
    return json_response(page, headers=headers)


async def list_storage(request: web.Request, org: str | None) -> web.Response:
    """GET /api/settings/repositories (the caller's own repos) or /api/organizations/{org}/settings/
    repositories (an org the caller belongs to): each repo with its visibility and stored bytes
    (`hf repos ls`, `list_user_repos`)."""
    state = hubctx.state_of(request)
    user = hubctx.caller(request)
    if user is None:
        raise HubError(401, None, "You must be authenticated to list your repos.")
    namespace = user.name if org is None else hubctx.plain_segment(org)
    if org is not None and not user.anywhere and user.role_in(namespace) is None:
        raise HubError(403, None, f"{user.name} is not a member of {namespace}")
    rows: list[dict[str, Any]] = []
    for ref in state.store.list_repos():
        meta = state.store.repo_meta(ref)
        if ref.namespace != namespace or meta is None or meta.get("upstream"):
            continue
        head = state.store.resolve(ref, "main")
        commit = (state.store.get_commit(ref, head) if head else None) or {}
        rows.append(
            {
                "id": ref.id,
                "type": ref.type,
                "updatedAt": commit.get("time") or meta.get("created_at"),
                "visibility": "private" if meta.get("private") else "public",
                "storage": state.store.repo_size(ref)[1],
            }
        )
    total = sum(r["storage"] for r in rows)
    for r in rows:
        r["storagePercent"] = round(100 * r["storage"] / total, 2) if total else 0
    try:
        start = (
            int(base64.urlsafe_b64decode(request.query["cursor"]).decode())
            if "cursor" in request.query
            else 0
        )
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise HubError(400, "BadRequest", "Invalid cursor.") from None
    size = state.config.list_page_size
    headers = {}
    if start + size < len(rows):
        cursor = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        headers["Link"] = (
            f'<{hubctx.public_base(request)}{request.rel_url.raw_path}?cursor={cursor}>; rel="next"'
        )
    return json_response(rows[start : start + size], headers=headers)
