"""The aiohttp application: the route tables, the request dispatcher, error and access-log middleware.

Hub URLs mix repo ids, encoded revisions and file paths in one path, so requests are routed by hand
over three tables; a new endpoint is one entry in one of them:

* `API_ROUTES`: fixed `/api/...` paths (`whoami-v2`, `repos/create`);
* `REPO_ROUTES`: `/api/{models|datasets|spaces}/{ns}/{name}/{verb}/...`, by verb;
* `FILE_ROUTES`: `[/{datasets|spaces}]/{ns}/{name}/{kind}/{rev}/{path}` (`resolve`), by kind;
* `GIT_ROUTES`: `[/{datasets|spaces}]/{ns}/{name}.git/...`, by the segments after `name.git`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from gator_setup.mirror import gitserve, lfs_upload, routes_read, routes_write, xet_routes
from gator_setup.mirror import routes_hubapi as hubapi
from gator_setup.mirror.auth import Auth, load_tokens
from gator_setup.mirror.config import MirrorConfig
from gator_setup.mirror.http import error_response, json_body, json_response
from gator_setup.mirror.ids import PLURAL_TO_TYPE, REPO_TYPES, HubError, RepoRef, parse_repo
from gator_setup.mirror.pullthrough import PullThrough
from gator_setup.mirror.state import STATE, MirrorState
from gator_setup.mirror.store import Store

log = logging.getLogger("gator.mirror")
ACCESS_LOG_FORMAT = '%a "%r" %s %{Content-Length}o %Tfs "%{User-Agent}i"'

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RepoHandler = Callable[[web.Request, RepoRef, list[str]], Awaitable[web.StreamResponse]]
FileHandler = Callable[[web.Request, RepoRef, str, str], Awaitable[web.StreamResponse]]
GET_HEAD = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class RepoRoute:
    """One `/api/{type}s/{ns}/{name}/{verb}/...` endpoint; `args` are the raw segments after the verb."""

    verb: str
    methods: frozenset[str]
    handler: RepoHandler
    min_args: int = 0
    max_args: int | None = 0  # None: any number (a path follows)
    types: tuple[str, ...] = REPO_TYPES

    def matches(self, ref: RepoRef, verb: str, method: str, args: list[str]) -> bool:
        return (
            verb == self.verb
            and method in self.methods
            and ref.type in self.types
            and len(args) >= self.min_args
            and (self.max_args is None or len(args) <= self.max_args)
        )


@dataclass(frozen=True)
class GitRoute:
    """One `/{repo}.git/...` endpoint: `prefix` are the segments after `name.git`."""

    prefix: tuple[str, ...]
    methods: frozenset[str]
    handler: RepoHandler  # gets the segments after the prefix


def build_state(config: MirrorConfig) -> MirrorState:
    """Open the store, read the tokens and prepare the pull-through client."""
    tokens = load_tokens(config.tokens_file) if config.tokens_file else None
    state = MirrorState(config=config, store=Store(config.storage), auth=Auth(tokens))
    if config.upstream:
        state.pull = PullThrough(config, state.store)
    return state


def make_app(config: MirrorConfig, state: MirrorState | None = None) -> web.Application:
    """The mirror as an aiohttp Application (run it with web.AppRunner or `serve`)."""
    state = state or build_state(config)
    app = web.Application(middlewares=[_errors], client_max_size=64 * 1024 * 1024)
    app[STATE] = state
    app.router.add_route("*", "/{tail:.*}", dispatch)
    xet_routes.setup(app, config.max_uploads)
    pull = state.pull
    if pull is not None:

        async def close_pull(_app: web.Application) -> None:
            await pull.close()

        app.on_cleanup.append(close_pull)
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


def _segments(request: web.Request) -> list[str]:
    raw = request.rel_url.raw_path
    # Keep each segment's encoding until the route knows whether "/" may appear in it (revisions only).
    return raw.split("/")[1:]


def plain(seg: str) -> str:
    """A decoded segment that must not contain an encoded slash or traversal."""
    value = unquote(seg)
    if "/" in value or "\\" in value or value in (".", ".."):
        raise HubError(400, "BadRequest", "Invalid path segment.")
    return value


def _rev(args: list[str]) -> str:
    """The revision segment (clients quote it with safe="", so `refs/pr/1` arrives as one segment)."""
    return unquote(args[0])


async def _repo_info(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await routes_read.repo_info(request, ref, "main", default_rev=True)


async def _revision(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    # Some clients send refs/pr/N unquoted: join what is left.
    return await routes_read.repo_info(request, ref, unquote("/".join(args)))


async def _tree(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    # The folder may come with its slashes encoded (huggingface_hub quotes it with safe=""), as the Hub
    # accepts; the decoded path is validated whole (check_path) by the route.
    return await routes_read.tree(
        request, ref, _rev(args), "/".join(unquote(s) for s in args[1:]).rstrip("/")
    )


async def _paths_info(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await routes_read.paths_info(request, ref, _rev(args))


async def _refs(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await routes_read.list_refs(request, ref)


async def _preupload(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await routes_write.preupload(request, ref, _rev(args))


async def _commit(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await routes_write.commit(request, ref, _rev(args))


async def _branch(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await routes_write.branch(request, ref, _rev(args))


async def _xet_write_token(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await xet_routes.write_token(request, ref, _rev(args))


async def _secrets(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await routes_write.space_settings(request, ref, "secrets")


async def _variables(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await routes_write.space_settings(request, ref, "variables")


async def _settings(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await routes_write.update_settings(request, ref)


async def _validate_yaml(request: web.Request) -> web.StreamResponse:
    # upload_folder validates a README's metadata here; the mirror does not judge model cards.
    return json_response({"errors": [], "warnings": []})


async def _lfs_refused(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    raise HubError(501, None, "Git LFS is not served; upload files as regular files (preupload says so).")


async def _lfs_batch(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    # One endpoint for both directions: downloads (git lfs pull), uploads (huggingface_hub `lfs` files).
    body = await json_body(request, request.app[STATE].config.body_timeout)
    if body.get("operation") == "upload":
        return await lfs_upload.upload_batch(request, ref, body)
    if body.get("operation") == "download":
        return await gitserve.lfs_batch(request, ref, body)
    raise HubError(422, None, "operation must be 'upload' or 'download'.")


ANY = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})

API_ROUTES: dict[tuple[str, ...], dict[str, Handler]] = {
    ("whoami-v2",): {"GET": routes_read.whoami},
    ("repos", "create"): {"POST": routes_write.create_repo},
    ("repos", "delete"): {"DELETE": routes_write.delete_repo},
    ("validate-yaml",): {"POST": _validate_yaml},
    ("models",): {"GET": hubapi.list_models},
    ("datasets",): {"GET": hubapi.list_datasets},
    ("spaces",): {"GET": hubapi.list_spaces},
    ("repos", "move"): {"POST": hubapi.move_repo},
    ("settings", "repositories"): {"GET": hubapi.list_my_repos},
}

# First match wins; a repo URL whose verb matches no entry is a 404.
REPO_ROUTES: list[RepoRoute] = [
    RepoRoute("revision", frozenset({"GET"}), _revision, 1, None),
    RepoRoute("tree", frozenset({"GET"}), _tree, 1, None),
    RepoRoute("paths-info", frozenset({"POST"}), _paths_info, 1, 1),
    RepoRoute("refs", frozenset({"GET"}), _refs),
    RepoRoute("preupload", frozenset({"POST"}), _preupload, 1, 1),
    RepoRoute("commit", frozenset({"POST"}), _commit, 1, 1),
    RepoRoute("xet-write-token", frozenset({"GET"}), _xet_write_token, 1, 1),
    RepoRoute("branch", frozenset({"POST", "DELETE"}), _branch, 1, 1),
    RepoRoute("secrets", ANY, _secrets, types=("space",)),
    RepoRoute("variables", ANY, _variables, types=("space",)),
    RepoRoute("settings", frozenset({"PUT"}), _settings),
    RepoRoute("commits", frozenset({"GET"}), hubapi.commits, 1, None),
    RepoRoute("tag", frozenset({"POST", "DELETE"}), hubapi.tag, 1, None),
    RepoRoute("auth-check", frozenset({"GET"}), hubapi.auth_check, 0, 1),
    RepoRoute("super-squash", frozenset({"POST"}), hubapi.super_squash, 1, None),
    RepoRoute("duplicate", frozenset({"POST"}), hubapi.duplicate),
]

FILE_ROUTES: dict[str, tuple[frozenset[str], FileHandler]] = {
    "resolve": (GET_HEAD, routes_read.resolve),
    "blob": (GET_HEAD, hubapi.blob),
    "raw": (GET_HEAD, hubapi.raw),
}

GIT_ROUTES: list[GitRoute] = [
    GitRoute(("info", "refs"), GET_HEAD, hubapi.git_info_refs),
    GitRoute(("git-upload-pack",), frozenset({"POST"}), hubapi.git_upload_pack),
    GitRoute(("info", "lfs", "objects", "batch"), frozenset({"POST"}), _lfs_batch),
    GitRoute(("info", "lfs", "objects"), GET_HEAD, hubapi.lfs_object),
    GitRoute(("info", "lfs", "upload"), frozenset({"PUT"}), lfs_upload.put_object),
    GitRoute(("info", "lfs", "verify"), frozenset({"POST"}), lfs_upload.verify),
    GitRoute(("info", "lfs"), ANY, _lfs_refused),
]


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Route one request through the tables above."""
    state = request.app[STATE]
    state.stats["requests"] += 1
    segs = _segments(request)
    method = request.method
    if segs == ["healthz"]:
        return json_response({"status": "ok", "uptime_s": round(time.time() - state.started, 1)})
    if (web_resp := await hubapi.dispatch_web(request, segs, method)) is not None:
        return web_resp  # /{repo}, /{repo}/commit/{sha}, git URLs without .git
    if segs and segs[0] == "api":
        return await _dispatch_api(request, segs[1:], method)
    rtype = "model"
    if segs and segs[0] in ("datasets", "spaces", "models") and len(segs) >= 5:
        rtype = PLURAL_TO_TYPE[segs[0]]
        segs = segs[1:]
    if len(segs) >= 5 and segs[2] in FILE_ROUTES and method in FILE_ROUTES[segs[2]][0]:
        ref = parse_repo(rtype, plain(segs[0]), plain(segs[1]))
        rev = unquote(segs[3])
        path = "/".join(plain(s) for s in segs[4:])
        return await FILE_ROUTES[segs[2]][1](request, ref, rev, path)
    if len(segs) >= 3 and segs[1].endswith(".git"):
        rest = segs[2:]
        for route in GIT_ROUTES:
            n = len(route.prefix)
            if tuple(rest[:n]) == route.prefix and method in route.methods:
                ref = parse_repo(rtype, plain(segs[0]), plain(segs[1])[: -len(".git")])
                return await route.handler(request, ref, rest[n:])
    raise HubError(404, None, "Not found.")


async def _dispatch_api(request: web.Request, segs: list[str], method: str) -> web.StreamResponse:
    if segs[:1] == ["xet-cas"]:  # the Xet CAS that xet-write-token points hf_xet at
        return await xet_routes.cas(request, segs[1:], method)
    fixed = API_ROUTES.get(tuple(segs))
    if fixed is not None and method in fixed:
        return await fixed[method](request)
    if len(segs) >= 3 and segs[0] in PLURAL_TO_TYPE:
        ref = parse_repo(PLURAL_TO_TYPE[segs[0]], plain(segs[1]), plain(segs[2]))
        rest = segs[3:]
        if not rest:
            if method == "GET":
                return await _repo_info(request, ref, [])
            raise HubError(405, None, "Method not allowed.")
        for route in REPO_ROUTES:
            if route.matches(ref, rest[0], method, rest[1:]):
                return await route.handler(request, ref, rest[1:])
    if len(segs) == 4 and segs[0] == "organizations" and segs[2:] == ["settings", "repositories"]:
        return await hubapi.list_org_repos(request, segs[1])  # `hf repos ls --namespace ORG`
    raise HubError(404, None, "Not found.")
