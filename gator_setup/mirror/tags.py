"""Tags: create_tag (POST /tag/{revision}) and delete_tag (DELETE /tag/{tag}); tags resolve as revisions
wherever a revision is accepted (Store.resolve)."""

from __future__ import annotations

from aiohttp import web

from gator_setup.mirror import hubctx
from gator_setup.mirror.http import json_body, json_response
from gator_setup.mirror.ids import HubError, RepoRef, check_branch_name, check_revision
from gator_setup.mirror.store import atomic_write_json


async def tag(request: web.Request, ref: RepoRef, rev: str) -> web.Response:
    """POST: tag `rev` with body {"tag", "message"}; DELETE: remove the tag named `rev`."""
    state = hubctx.state_of(request)
    state.auth.check_write(ref, hubctx.caller(request))
    hubctx.local_meta(request, ref)
    if request.method == "DELETE":
        name = check_revision(rev)
        with state.store.repo_lock(ref):
            refs = state.store.refs(ref)
            if name not in refs["tags"]:
                raise HubError(404, "RevisionNotFound", f"Tag {name} does not exist.")
            del refs["tags"][name]
            atomic_write_json(state.store.repo_dir(ref) / "refs.json", refs)
        return json_response({})
    body = await json_body(request, state.config.body_timeout)
    name = str((body or {}).get("tag") or "") if isinstance(body, dict) else ""
    if not name:
        raise HubError(400, "BadRequest", "Missing 'tag'.")
    check_branch_name(name)
    target = state.store.resolve(ref, check_revision(rev))
    if target is None:
        raise HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")
    with state.store.repo_lock(ref):
        refs = state.store.refs(ref)
        if name in refs["tags"]:
            raise HubError(409, None, f"Tag {name} already exists.")
        if name in refs["branches"]:
            # A tag named like a branch would never resolve (branches win): refuse it up front.
            raise HubError(409, None, f"{name} is already a branch name.")
        refs["tags"][name] = target
        atomic_write_json(state.store.repo_dir(ref) / "refs.json", refs)
    return json_response({})
