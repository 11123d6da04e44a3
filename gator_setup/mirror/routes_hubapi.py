"""Routes of the Hub API beyond downloads and uploads: listings, history, tags, auth-check, move,
duplicate, super-squash (under /api/), and the web URLs and git smart HTTP (outside /api/).

`dispatch_api` and `dispatch_web` answer None for a request they do not serve, so app.dispatch goes on.
"""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web

from gator_setup.mirror import history, listing, repo_admin, tags
from gator_setup.mirror.hubctx import repo_from
from gator_setup.mirror.ids import PLURAL_TO_TYPE

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


async def dispatch_web(request: web.Request, segs: list[str], method: str) -> web.StreamResponse | None:
    """Routes outside /api/: blob/raw/commit pages and git (added as they are built)."""
    return None
