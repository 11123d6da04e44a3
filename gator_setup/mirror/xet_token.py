"""Xet access tokens: short-lived, signed, bound to one writer and one repo (never logged).

`xet-write-token` hands one to a caller who may write to the repo; hf_xet then sends it as a Bearer
token to the mirror's CAS routes, which learn from it alone who writes where. The token is an HMAC
(key `xet-token.key` in the storage root, shared by every worker) over user, repo and expiry, so no
server state is needed and a token of one repo or user cannot be turned into another's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass

from gator_setup.mirror.ids import HubError, RepoRef, parse_repo
from gator_setup.mirror.signing import storage_secret
from gator_setup.mirror.store import Store

PREFIX = "gxet_"  # recognisable, so the log guard redacts it wherever it shows up
TOKEN_TTL = 3600  # seconds; hf_xet asks for a new one before this runs out


@dataclass(frozen=True)
class XetGrant:
    """What a valid token says: who may store Xet objects for which repo, until when."""

    user: str
    ref: RepoRef
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(store: Store, payload: bytes) -> bytes:
    return hmac.new(storage_secret(store, "xet-token.key"), b"xet-write\n" + payload, hashlib.sha256).digest()


def mint(store: Store, user: str, ref: RepoRef, *, now: float | None = None) -> tuple[str, int]:
    """A new token for `user` writing to `ref`, and its expiry (unix seconds)."""
    expires = int(now if now is not None else time.time()) + TOKEN_TTL
    body = {"u": user, "t": ref.type, "r": ref.id, "x": expires, "n": _b64(os.urandom(9))}
    payload = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return f"{PREFIX}{_b64(payload)}.{_b64(_mac(store, payload))}", expires


def check(store: Store, authorization: str | None, *, now: float | None = None) -> XetGrant:
    """The grant of a `Bearer gxet_...` header; 401 for anything missing, forged or expired."""
    bad = HubError(401, None, "Invalid or expired Xet token; ask xet-write-token for a new one.")
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(PREFIX) or token.count(".") != 1:
        raise bad
    payload_b64, mac_b64 = token[len(PREFIX) :].split(".")
    try:
        payload, mac = _unb64(payload_b64), _unb64(mac_b64)
    except (binascii.Error, ValueError):
        raise bad from None
    if not hmac.compare_digest(_mac(store, payload), mac):
        raise bad
    try:
        body = json.loads(payload)
        ns, _, name = str(body["r"]).partition("/")
        grant = XetGrant(str(body["u"]), parse_repo(str(body["t"]), ns, name), int(body["x"]))
    except (ValueError, KeyError, TypeError, HubError):
        raise bad from None
    if grant.expires < (now if now is not None else time.time()):
        raise bad
    return grant
