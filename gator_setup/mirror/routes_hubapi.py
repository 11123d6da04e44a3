"""Routes of the Hub API beyond downloads and uploads: listings, history, tags, auth-check, move,
duplicate, super-squash (under /api/), and the web URLs and git smart HTTP (outside /api/).

`dispatch_api` and `dispatch_web` answer None for a request they do not serve, so app.dispatch goes on.
"""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web

from gator_setup.mirror import gitserve, history, listing, repo_admin, tags, web_pages
from gator_setup.mirror.hubctx import plain_segment, repo_from
from gator_setup.mirror.ids import PLURAL_TO_TYPE, HubError, RepoRef

_REPO_VERBS = ("commits", "tag", "auth-check", "super-squash", "duplicate")


async def dispatch_api(request: web.Request, segs: list[str], method: str) -> web.StreamResponse | None:
    """Routes under /api/ (`segs` without the leading "api")."""
    if len(segs) == 1 and segs[0] in PLURAL_TO_TYPE and method == "GET":
        return await listing.list_repos(request, PLURAL_TO_TYPE[segs[0]])
    if segs == ["repos", "move"] and method == "POST":
        return await repo_admin.move_repo(request)
    if len(segs) < 4 or segs[0] not in PLURAL_TO_TYPE or segs[3] not in _REPO_VERBS:
        return None
    ref = repo_from(PLURAL_TO_TYPE[segs[0]], segs[1], segs[2])
    verb, rest = segs[3], segs[4:]
    # Revisions come quoted with safe="" (refs/pr/1 -> refs%2Fpr%2F1); some clients leave slashes raw.
    rev = unquote("/".join(rest))
    if verb == "commits" and rest and method == "GET":
        return await history.list_commits(request, ref, rev)
    if verb == "tag" and rest and method in ("POST", "DELETE"):
        return await tags.tag(request, ref, rev)
    if verb == "auth-check" and method == "GET" and rest in ([], ["write"]):
        return await repo_admin.auth_check(request, ref, write=bool(rest))
    if verb == "super-squash" and rest and method == "POST":
        return await history.super_squash(request, ref, rev)
    if verb == "duplicate" and not rest and method == "POST":
        return await repo_admin.duplicate_repo(request, ref)
    return None


_PREFIXES = {"datasets": "dataset", "spaces": "space", "models": "model"}


async def dispatch_web(request: web.Request, segs: list[str], method: str) -> web.StreamResponse | None:
    """Routes outside /api/: repo, blob, raw and commit pages; git smart HTTP; git-lfs batch downloads."""
    if not segs or segs[0] == "api" or method not in ("GET", "HEAD", "POST"):
        return None
    rtype = "model"
    if segs[0] in _PREFIXES and len(segs) >= 3:
        rtype, segs = _PREFIXES[segs[0]], segs[1:]
    if len(segs) < 2:
        return None
    name = unquote(segs[1])
    dot_git = name.endswith(".git")
    ref = repo_from(rtype, segs[0], name[:-4] if dot_git else name)
    rest = segs[2:]
    if rest == ["info", "refs"] and method == "GET":
        return await gitserve.info_refs(request, ref)
    if rest == ["git-upload-pack"] and method == "POST":
        return await gitserve.upload_pack(request, ref)
    if rest[:3] == ["info", "lfs", "objects"]:
        return await _lfs(request, ref, rest[3:], method)
    if dot_git or method == "POST":
        return None
    if not rest:
        return await web_pages.repo_page(request, ref)
    if rest[0] in ("blob", "raw") and len(rest) >= 3:
        path = "/".join(plain_segment(s) for s in rest[2:])
        return await web_pages.blob_or_raw(request, ref, rest[0], unquote(rest[1]), path)
    if rest[0] == "commit" and len(rest) == 2:
        return await web_pages.commit_page(request, ref, unquote(rest[1]))
    return None


async def _lfs(request: web.Request, ref: RepoRef, rest: list[str], method: str) -> web.StreamResponse | None:
    if rest == ["batch"] and method == "POST":
        try:
            body = await request.json()
        except ValueError:
            raise HubError(400, "BadRequest", "Body must be JSON.") from None
        if not isinstance(body, dict) or body.get("operation") != "download":
            return None  # uploads: the LFS upload side (elsewhere) or the app's answer
        return await gitserve.lfs_batch(request, ref, body)
    if len(rest) == 1 and method in ("GET", "HEAD"):
        return await gitserve.lfs_object(request, ref, rest[0])
    return None
