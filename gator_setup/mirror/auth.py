"""Who is asking: the tokens file (`token user read|write`), open development mode, and repo access rules."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gator_setup.errors import InputError
from gator_setup.mirror.ids import HubError, RepoRef

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class User:
    """An authenticated caller."""

    name: str
    write: bool
    token: str = ""

    def __repr__(self) -> str:  # never show the token, even in a debugger or log
        return f"User({self.name!r}, write={self.write})"


def load_tokens(path: Path) -> dict[str, User]:
    """Parse a tokens file: one `TOKEN USER read|write` per line, `#` comments."""
    users: dict[str, User] = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read tokens file ({exc.strerror})") from None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3 or parts[2] not in ("read", "write") or len(parts[0]) < 8:
            raise InputError(
                path, "expected 'TOKEN USER read|write' (token of 8+ characters)", line=n, hint=None
            )
        users[parts[0]] = User(parts[1], parts[2] == "write", parts[0])
    return users


class Auth:
    """Maps `Authorization: Bearer` to a User; `tokens=None` is the open development mode."""

    def __init__(self, tokens: dict[str, User] | None) -> None:
        self.tokens = tokens

    @property
    def open_mode(self) -> bool:
        return self.tokens is None

    def identify(self, authorization: str | None) -> User | None:
        """The caller, None for anonymous; HubError 401 for a token the tokens file does not know."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HubError(401, None, "Invalid credentials in Authorization header")
        if self.tokens is None:
            # Open development mode: any token is a user with write access.
            return User("dev", True, token)
        for known, user in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return user
        raise HubError(401, None, "Invalid credentials in Authorization header")

    def check_read(self, ref: RepoRef, meta: dict[str, Any] | None, user: User | None) -> None:
        """Raise the Hub's error when `user` may not read the repo (or it does not exist)."""
        if meta is None:
            raise _not_found(ref, user)
        if meta.get("private") and user is None:
            raise _not_found(ref, user)
        gated = meta.get("gated")
        if gated and not (user and (user.write or user.name in meta.get("gated_users", []))):
            if user is None:
                raise HubError(
                    401, "GatedRepo", f"Access to {ref.id} is restricted. You must be authenticated."
                )
            raise HubError(403, "GatedRepo", f"Access to {ref.id} is restricted and you are not in the list.")

    def check_write(self, ref: RepoRef, user: User | None) -> User:
        """The writing user; 401 without a token, 403 for a read-only token."""
        if user is None:
            raise HubError(401, None, "You must use a write token to push (Authorization: Bearer ...).")
        if not user.write:
            raise HubError(403, None, f"Token of {user.name} is read-only; {ref.id} needs a write token.")
        return user


def _not_found(ref: RepoRef, user: User | None) -> HubError:
    msg = f"Repository Not Found for url: {ref.url_path}. Please make sure you specified the correct repo id."
    # The Hub answers 401 to anonymous callers so they know a token might help.
    return HubError(401 if user is None else 404, "RepoNotFound", msg)
