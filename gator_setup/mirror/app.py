"""The aiohttp application: shared state, the request dispatcher, error and access-log middleware."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from gator_setup.mirror import routes_read, routes_write
from gator_setup.mirror.auth import Auth, User, load_tokens
from gator_setup.mirror.config import MirrorConfig
from gator_setup.mirror.http import error_response, json_response
from gator_setup.mirror.ids import PLURAL_TO_TYPE, HubError, RepoRef, parse_repo
from gator_setup.mirror.store import Store

log = logging.getLogger("gator.mirror")
STATE: web.AppKey[MirrorState] = web.AppKey("gator_mirror_state")
ACCESS_LOG_FORMAT = '%a "%r" %s %{Content-Length}o %Tfs "%{User-Agent}i"'


@dataclass
class MirrorState:
    """What every handler needs."""

    config: MirrorConfig
    store: Store
    auth: Auth
    pull: Any = None  # PullThrough when --upstream is set
    started: float = field(default_factory=time.time)
    stats: dict[str, int] = field(default_factory=lambda: {"requests": 0, "served_bytes": 0})


def build_state(config: MirrorConfig) -> MirrorState:
    """Open the store, read the tokens and prepare the pull-through client."""
    tokens = load_tokens(config.tokens_file) if config.tokens_file else None
    state = MirrorState(config=config, store=Store(config.storage), auth=Auth(tokens))
    if config.upstream:
        from gator_setup.mirror.pullthrough import PullThrough

        state.pull = PullThrough(state)
    return state


def make_app(config: MirrorConfig, state: MirrorState | None = None) -> web.Application:
    """The mirror as an aiohttp Application (run it with web.AppRunner or `serve`)."""
    state = state or build_state(config)
    app = web.Application(middlewares=[_errors], client_max_size=64 * 1024 * 1024)
    app[STATE] = state
    app.router.add_route("*", "/{tail:.*}", dispatch)
    if state.pull is not None:
        app.on_cleanup.append(lambda _app: state.pull.close())
    return app


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        resp: web.StreamResponse = await handler(request)
        return resp
    except HubError as exc:
        return error_response(exc)
    except web.HTTPException:
        raise
    except (ConnectionResetError, ConnectionError):
        raise
    except Exception:
        log.exception("internal error on %s %s", request.method, request.rel_url.raw_path)
        return error_response(HubError(500, None, "Internal error in gator mirror (see server log)."))


def user_of(request: web.Request) -> User | None:
    state = request.app[STATE]
    return state.auth.identify(request.headers.get("Authorization"))


def _segments(request: web.Request) -> list[str]:
    raw = request.rel_url.raw_path
    # Keep each segment's encoding until the route knows whether "/" may appear in it (revisions only).
    return raw.split("/")[1:]


def _plain(seg: str) -> str:
    """A decoded segment that must not contain an encoded slash or traversal."""
    value = unquote(seg)
    if "/" in value or "\\" in value or value in (".", ".."):
        raise HubError(400, "BadRequest", "Invalid path segment.")
    return value


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Route by hand: Hub URLs mix repo ids, encoded revisions and file paths in one path."""
    state = request.app[STATE]
    state.stats["requests"] += 1
    segs = _segments(request)
    method = request.method
    if segs == ["healthz"]:
        return json_response({"status": "ok", "uptime_s": round(time.time() - state.started, 1)})
    if segs and segs[0] == "api":
        return await _dispatch_api(request, segs[1:], method)
    # File routes: [datasets|spaces/]ns/name/resolve/rev/path...
    rtype = "model"
    if segs and segs[0] in ("datasets", "spaces", "models") and len(segs) >= 5:
        rtype = PLURAL_TO_TYPE[segs[0]]
        segs = segs[1:]
    if len(segs) >= 5 and segs[2] == "resolve" and method in ("GET", "HEAD"):
        ref = parse_repo(rtype, _plain(segs[0]), _plain(segs[1]))
        rev = unquote(segs[3])
        path = "/".join(_plain(s) for s in segs[4:])
        return await routes_read.resolve(request, ref, rev, path)
    if len(segs) >= 4 and segs[1].endswith(".git") and segs[2:4] == ["info", "lfs"]:
        raise HubError(501, None, "Git LFS is not served; upload files as regular files (preupload says so).")
    raise HubError(404, None, "Not found.")


async def _dispatch_api(request: web.Request, segs: list[str], method: str) -> web.StreamResponse:
    if segs == ["whoami-v2"] and method == "GET":
        return await routes_read.whoami(request)
    if segs == ["repos", "create"] and method == "POST":
        return await routes_write.create_repo(request)
    if segs == ["validate-yaml"] and method == "POST":
        # upload_folder validates a README's metadata here; the mirror does not judge model cards.
        return json_response({"errors": [], "warnings": []})
    if segs == ["repos", "delete"] and method == "DELETE":
        return await routes_write.delete_repo(request)
    if len(segs) >= 3 and segs[0] in PLURAL_TO_TYPE:
        ref: RepoRef = parse_repo(PLURAL_TO_TYPE[segs[0]], _plain(segs[1]), _plain(segs[2]))
        rest = segs[3:]
        if not rest and method == "GET":
            return await routes_read.repo_info(request, ref, "main", default_rev=True)
        if not rest:
            raise HubError(405, None, "Method not allowed.")
        verb = rest[0]
        # Clients quote the revision with safe="" but some send refs/pr/N unquoted: join what is left.
        rev = unquote("/".join(rest[1:2])) if len(rest) > 1 else ""
        if verb == "revision" and len(rest) >= 2 and method == "GET":
            return await routes_read.repo_info(request, ref, unquote("/".join(rest[1:])))
        if verb == "tree" and len(rest) >= 2 and method == "GET":
            # The folder may come with its slashes encoded (huggingface_hub quotes it with safe=""), as
            # the Hub accepts; the decoded path is validated whole (check_path) by the route.
            sub = "/".join(unquote(s) for s in rest[2:]).rstrip("/")
            return await routes_read.tree(request, ref, rev, sub)
        if verb == "paths-info" and len(rest) == 2 and method == "POST":
            return await routes_read.paths_info(request, ref, rev)
        if verb == "refs" and len(rest) == 1 and method == "GET":
            return await routes_read.list_refs(request, ref)
        if verb == "preupload" and len(rest) == 2 and method == "POST":
            return await routes_write.preupload(request, ref, rev)
        if verb == "commit" and len(rest) == 2 and method == "POST":
            return await routes_write.commit(request, ref, rev)
        if verb == "branch" and len(rest) == 2 and method in ("POST", "DELETE"):
            return await routes_write.branch(request, ref, rev)
        if verb in ("secrets", "variables") and len(rest) == 1 and ref.type == "space":
            return await routes_write.space_settings(request, ref, verb)
        if verb == "settings" and len(rest) == 1 and method == "PUT":
            return await routes_write.update_settings(request, ref)
    raise HubError(404, None, "Not found.")
