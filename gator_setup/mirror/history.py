"""Commit history: list_repo_commits (paged), the last commit of tree entries, super-squash."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from gator_setup.mirror import gitobj, hubctx
from gator_setup.mirror.http import json_response
from gator_setup.mirror.ids import HubError, RepoRef, check_branch_name, check_revision
from gator_setup.mirror.store import Store, atomic_write_json

COMMITS_PAGE = 50  # the Hub's page size for /commits
MAX_WALK = 10_000  # commits walked to date tree entries (older ones are dated by the oldest walked)


def walk(store: Store, ref: RepoRef, sha: str, limit: int = MAX_WALK) -> Iterator[dict[str, Any]]:
    """Commits reachable from `sha`, newest first (the mirror's history is linear, so first parents)."""
    seen: set[str] = set()
    todo = [sha]
    while todo and len(seen) < limit:
        cur = todo.pop(0)
        if cur in seen:
            continue
        seen.add(cur)
        commit = store.get_commit(ref, cur)
        if commit is None:
            continue
        yield commit
        todo.extend(commit.get("parents") or [])


def split_message(message: str) -> tuple[str, str]:
    """(title, body) of a commit message as the Hub shows them."""
    title, _, rest = message.partition("\n")
    return title, rest.lstrip("\n")


def commit_item(commit: dict[str, Any]) -> dict[str, Any]:
    """One commit in the Hub's /commits JSON shape."""
    title, body = split_message(str(commit.get("message") or ""))
    return {
        "id": commit["id"],
        "title": title,
        "message": body,
        "authors": [{"user": str(commit.get("author") or "gator"), "avatar": None}],
        "date": commit.get("time"),
    }


async def list_commits(request: web.Request, ref: RepoRef, rev: str) -> web.Response:
    """GET /api/{type}s/{repo}/commits/{rev}?p=N: commits newest first, pages of 50 with a Link header."""
    from gator_setup.mirror.routes_read import locate

    state = hubctx.state_of(request)
    loc = await locate(request, ref, rev)
    if not loc.local:
        raise HubError(
            501, "NotServed", "Commit history of upstream copies is not stored; ask the upstream for it."
        )
    try:
        page = int(request.query.get("p", "0"))
    except ValueError:
        raise HubError(400, "BadRequest", "Invalid page.") from None
    size = max(1, min(COMMITS_PAGE, state.config.list_page_size))
    if page < 0:
        raise HubError(400, "BadRequest", "Invalid page.")
    commits = list(walk(state.store, ref, loc.sha, limit=(page + 1) * size + 1))
    items = [commit_item(c) for c in commits[page * size : (page + 1) * size]]
    headers = {}
    if len(commits) > (page + 1) * size:
        query = [(k, v) for k, v in request.query.items() if k != "p"] + [("p", str(page + 1))]
        headers["Link"] = (
            f'<{hubctx.public_base(request)}{request.rel_url.raw_path}?{urlencode(query)}>; rel="next"'
        )
    return json_response(items, headers=headers)


def _path_oids(files: dict[str, Any]) -> dict[str, str]:
    """Every file and folder of a tree with its git id (folders by their tree id)."""
    _, dirs = gitobj.tree_oid(files)
    out = {p: str(e["oid"]) for p, e in files.items()}
    out.update(dirs)
    return out


@functools.lru_cache(maxsize=64)
def _last_commits(store: Store, ref: RepoRef, sha: str) -> dict[str, dict[str, Any]]:
    # Keyed by commit id: commits are immutable, so an answer never goes stale.
    result: dict[str, dict[str, Any]] = {}
    history = list(walk(store, ref, sha))
    if not history:
        return result
    current = _path_oids(history[0]["files"])
    pending = dict(current)
    for i, commit in enumerate(history):
        parent = history[i + 1] if i + 1 < len(history) else None
        before = _path_oids(parent["files"]) if parent else {}
        title, _ = split_message(str(commit.get("message") or ""))
        stamp = {"id": commit["id"], "title": title, "date": commit.get("time")}
        for path in [p for p, oid in pending.items() if before.get(p) != oid]:
            result[path] = stamp
            del pending[path]
        if not pending:
            break
    oldest = history[-1]
    for path in pending:  # older than the walk reached: dated by the oldest commit walked
        result[path] = {
            "id": oldest["id"],
            "title": split_message(oldest.get("message", ""))[0],
            "date": oldest.get("time"),
        }
    return result


def add_last_commits(store: Store, ref: RepoRef, sha: str, entries: list[dict[str, Any]]) -> None:
    """Set `lastCommit` ({id, title, date}) on tree or paths-info entries of commit `sha` (expand=true)."""
    last = _last_commits(store, ref, sha)
    for entry in entries:
        stamp = last.get(entry["path"])
        if stamp is not None:
            entry["lastCommit"] = dict(stamp)


async def super_squash(request: web.Request, ref: RepoRef, branch: str) -> web.Response:
    """POST /api/{type}s/{repo}/super-squash/{branch}: one parentless commit with the branch's tree.

    The older commits stay stored (reachable by id and by tags), so nothing is lost on the mirror."""
    state = hubctx.state_of(request)
    user = state.auth.check_write(ref, hubctx.caller(request))
    hubctx.local_meta(request, ref)
    check_revision(branch)
    refs = state.store.refs(ref)
    if branch not in refs["branches"]:
        if branch in refs["tags"]:
            raise HubError(400, "BadRequest", f"{branch} is a tag; only branches can be squashed.")
        raise HubError(404, "RevisionNotFound", f"Invalid rev id: {branch}")
    check_branch_name(branch)
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        raise HubError(400, "BadRequest", "Body must be JSON.") from None
    message = str((body or {}).get("message") or f"Super-squash branch '{branch}'")
    with state.store.repo_lock(ref):
        refs = state.store.refs(ref)
        head = refs["branches"][branch]
        files = (state.store.get_commit(ref, head) or {}).get("files", {})
        sha = state.store._write_commit(ref, [], dict(files), message, user.name)
        refs["branches"][branch] = sha
        atomic_write_json(state.store.repo_dir(ref) / "refs.json", refs)
    return json_response({"commitId": sha})
