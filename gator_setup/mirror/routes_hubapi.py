"""Handlers of the Hub API beyond downloads and uploads, in the shapes app.py's route tables take:
listings, history, tags, auth-check, move, duplicate, super-squash, blob/raw/commit pages, git smart
HTTP and git-lfs batch downloads.

`dispatch_web` serves the URLs the tables cannot express: `/{repo}` and `/{repo}/commit/{sha}` (shorter
than file URLs) and git's URLs without `.git` (`git clone http://mirror/ns/name`).
"""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web

from gator_setup.mirror import gitserve, listing, repo_admin, routes_history, tags, web_pages
from gator_setup.mirror.hubctx import repo_from
from gator_setup.mirror.ids import HubError, RepoRef

_PREFIXES = {"datasets": "dataset", "spaces": "space", "models": "model"}


def _rev(args: list[str]) -> str:
    # Revisions come quoted with safe="" (refs/pr/1 -> refs%2Fpr%2F1); some clients leave slashes raw.
    return unquote("/".join(args))


async def list_models(request: web.Request) -> web.StreamResponse:
    return await listing.list_repos(request, "model")


async def list_datasets(request: web.Request) -> web.StreamResponse:
    return await listing.list_repos(request, "dataset")


async def list_spaces(request: web.Request) -> web.StreamResponse:
    return await listing.list_repos(request, "space")


async def list_my_repos(request: web.Request) -> web.StreamResponse:
    return await listing.list_storage(request, None)


async def list_org_repos(request: web.Request, org: str) -> web.StreamResponse:
    return await listing.list_storage(request, org)


async def move_repo(request: web.Request) -> web.StreamResponse:
    return await repo_admin.move_repo(request)


async def commits(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await routes_history.list_commits(request, ref, _rev(args))


async def tag(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await tags.tag(request, ref, _rev(args))


async def auth_check(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    if args not in ([], ["write"]):
        raise HubError(404, None, "Not found.")
    return await repo_admin.auth_check(request, ref, write=bool(args))


async def super_squash(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await routes_history.super_squash(request, ref, _rev(args))


async def duplicate(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    return await repo_admin.duplicate_repo(request, ref)


async def blob(request: web.Request, ref: RepoRef, rev: str, path: str) -> web.StreamResponse:
    return await web_pages.blob_or_raw(request, ref, "blob", rev, path)


async def raw(request: web.Request, ref: RepoRef, rev: str, path: str) -> web.StreamResponse:
    return await web_pages.blob_or_raw(request, ref, "raw", rev, path)


async def git_info_refs(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    if args:
        raise HubError(404, None, "Not found.")
    return await gitserve.info_refs(request, ref)


async def git_upload_pack(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    if args:
        raise HubError(404, None, "Not found.")
    return await gitserve.upload_pack(request, ref)


async def lfs_object(request: web.Request, ref: RepoRef, args: list[str]) -> web.StreamResponse:
    if len(args) != 1:
        raise HubError(404, None, "Not found.")
    return await gitserve.lfs_object(request, ref, args[0])


async def dispatch_web(request: web.Request, segs: list[str], method: str) -> web.StreamResponse | None:
    """`/{repo}`, `/{repo}/commit/{sha}` and git URLs without `.git`; None for anything else."""
    if not segs or segs[0] in ("api", "healthz") or method not in ("GET", "HEAD", "POST"):
        return None
    rtype = "model"
    if segs[0] in _PREFIXES and len(segs) >= 3:
        rtype, segs = _PREFIXES[segs[0]], segs[1:]
    if (
        len(segs) < 2
        or segs[1].endswith(".git")
        or (len(segs) >= 3 and segs[2] in ("resolve", "blob", "raw"))
    ):
        return None
    rest = segs[2:]
    if rest == ["info", "refs"] and method == "GET":
        return await gitserve.info_refs(request, repo_from(rtype, segs[0], segs[1]))
    if rest == ["git-upload-pack"] and method == "POST":
        return await gitserve.upload_pack(request, repo_from(rtype, segs[0], segs[1]))
    if method == "POST":
        return None
    if not rest:
        return await web_pages.repo_page(request, repo_from(rtype, segs[0], segs[1]))
    if rest[0] == "commit" and len(rest) == 2:
        return await web_pages.commit_page(request, repo_from(rtype, segs[0], segs[1]), unquote(rest[1]))
    return None
