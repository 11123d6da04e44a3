"""Routes over the commit history: list_repo_commits (pages of 50 with Link) and super-squash."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from gator_setup.mirror import hubctx
from gator_setup.mirror.history import commit_item, walk
from gator_setup.mirror.http import json_body, json_response
from gator_setup.mirror.ids import HubError, RepoRef, check_branch_name, check_revision
from gator_setup.mirror.routes_read import locate
from gator_setup.mirror.store import atomic_write_json

COMMITS_PAGE = 50  # the Hub's page size for /commits


async def list_commits(request: web.Request, ref: RepoRef, rev: str) -> web.Response:
    """GET /api/{type}s/{repo}/commits/{rev}?p=N: commits newest first, pages of 50 with a Link header."""
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
    timeout = state.config.body_timeout
    body = await json_body(request, timeout) if request.can_read_body else {}
    given = body.get("message") if isinstance(body, dict) else None
    message = str(given or f"Super-squash branch '{branch}'")
    with state.store.repo_lock(ref):
        refs = state.store.refs(ref)
        head = refs["branches"].get(branch)
        if head is None:  # deleted since the check above
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {branch}")
        files = (state.store.get_commit(ref, head) or {}).get("files", {})
        sha = state.store._write_commit(ref, [], dict(files), message, user.name)
        refs["branches"][branch] = sha
        atomic_write_json(state.store.repo_dir(ref) / "refs.json", refs)
    return json_response({"commitId": sha})
