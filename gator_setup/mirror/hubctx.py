"""Request context for the Hub API modules: the mirror state, the caller, repo lookups they share."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from gator_setup.mirror.auth import User
from gator_setup.mirror.ids import HubError, RepoRef, parse_repo
from gator_setup.mirror.state import MirrorState, public_base, state_of, user_of

__all__ = [
    "caller",
    "git_caller",
    "local_meta",
    "may_list",
    "plain_segment",
    "public_base",
    "repo_from",
    "state_of",
]


def caller(request: web.Request) -> User | None:
    """The authenticated caller (Bearer token), None when anonymous; 401 for an unknown token."""
    return user_of(request)


def git_caller(request: web.Request) -> User | None:
    """The caller of a git or git-lfs request: git sends Basic auth, the token being the password
    (any user name, as on the Hub); Bearer is accepted too."""
    header = request.headers.get("Authorization")
    if header and header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise HubError(401, None, "Invalid credentials in Authorization header") from None
        _, _, password = decoded.partition(":")
        header = f"Bearer {password}" if password else None
    return state_of(request).auth.identify(header)


def plain_segment(seg: str) -> str:
    """A decoded path segment that must not hide a slash or a traversal."""
    value = unquote(seg)
    if "/" in value or "\\" in value or value in (".", ".."):
        raise HubError(400, "BadRequest", "Invalid path segment.")
    return value


def repo_from(rtype: str, namespace: str, name: str) -> RepoRef:
    """RepoRef from raw URL segments."""
    return parse_repo(rtype, plain_segment(namespace), plain_segment(name))


def local_meta(request: web.Request, ref: RepoRef) -> dict[str, Any]:
    """Metadata of a repo published on this mirror (not an upstream copy), 404 otherwise."""
    meta = state_of(request).store.repo_meta(ref)
    if meta is None or meta.get("upstream"):
        raise HubError(404, "RepoNotFound", f"Repository {ref.id} not found (or is an upstream mirror copy).")
    return meta


def may_list(state: MirrorState, ref: RepoRef, meta: dict[str, Any], user: User | None) -> bool:
    """Whether `user` may see the repo in a listing: public ones always (gated too, as on the Hub),
    private ones only when they could read them."""
    if not meta.get("private"):
        return True
    if meta.get("upstream"):
        # Upstream copies of private repos: only the upstream can say who may see them.
        return False
    try:
        state.auth.check_read(ref, {**meta, "gated": False}, user)
    except HubError:
        return False
    return True
