"""Who is asking: the tokens file (tokens and org membership), open development mode, access rules.

Tokens file, one entry per line, `#` comments:

    TOKEN USER read|write            a token of USER (8+ characters)
    org ORG USER:ROLE [USER:ROLE...] USER is a member of ORG with ROLE read, write or admin
    upstream USER UPSTREAM_TOKEN     what the mirror sends upstream for USER (pull-through)

An "org" line cannot be mistaken for a token line (tokens have 8+ characters), nor an "upstream"
line (its third field is a token, never `read` or `write`).

Pull-through: a local token is never sent upstream. The upstream sees the user's own upstream token
(an `upstream` line), else the mirror's (`GATOR_MIRROR_UPSTREAM_TOKEN`), which opens public content
only: private and gated upstream content is served only to callers with an upstream credential of
their own that the upstream accepted (see pullthrough.py).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gator_setup.errors import InputError
from gator_setup.mirror.ids import HubError, RepoRef, valid_name

LOOPBACK = ("127.0.0.1", "::1", "localhost")
ORG_ROLES = ("read", "write", "admin")
WRITE_ROLES = ("write", "admin")


@dataclass(frozen=True)
class User:
    """An authenticated caller: its token's role and its org memberships (org -> role)."""

    name: str
    write: bool
    token: str = ""
    orgs: tuple[tuple[str, str], ...] = ()
    anywhere: bool = False  # open development mode: may read and write every namespace
    upstream_token: str = ""  # sent upstream for this user (pull-through); never a local token

    def __repr__(self) -> str:  # never show the token, even in a debugger or log
        return f"User({self.name!r}, write={self.write}, orgs={dict(self.orgs)})"

    def role_in(self, namespace: str) -> str | None:
        """'admin' for the user's own namespace, its org role, or None for a stranger's namespace."""
        if namespace == self.name:
            return "admin"
        return dict(self.orgs).get(namespace)


@dataclass(frozen=True)
class Caller:
    """A caller as the upstream sees it (pull-through).

    `upstream_auth` is the Authorization value to send upstream for it (None: the mirror's own token,
    if any). `key` names whose upstream verdicts apply to it: a sha256 of its own upstream credential,
    or None when it has none, so private and gated upstream content is never granted to it.
    """

    upstream_auth: str | None
    key: str | None
    name: str

    def __repr__(self) -> str:  # never show the credential
        return f"Caller({self.name!r})"


def credential_key(authorization: str) -> str:
    """What the mirror remembers of an upstream credential: its sha256, never the token."""
    return hashlib.sha256(authorization.encode()).hexdigest()


@dataclass
class _Parsed:
    users: dict[str, User] = field(default_factory=dict)
    orgs: dict[str, dict[str, str]] = field(default_factory=dict)  # user -> {org: role}
    org_lines: dict[str, int] = field(default_factory=dict)
    upstream: dict[str, str] = field(default_factory=dict)  # user -> upstream token
    upstream_lines: dict[str, int] = field(default_factory=dict)


def load_tokens(path: Path) -> dict[str, User]:
    """Parse a tokens file (format in the module docstring) into token -> User."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read tokens file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(path, "not a tokens file (not UTF-8 text)") from None
    parsed = _Parsed()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if parts[0] == "org":
            _parse_org(path, n, parts, parsed)
            continue
        if parts[0] == "upstream" and len(parts) == 3 and parts[2] not in ("read", "write"):
            if not valid_name(parts[1]) or parts[1] in parsed.upstream:
                raise InputError(path, "expected one 'upstream USER TOKEN' line per user", line=n, hint=None)
            parsed.upstream[parts[1]] = parts[2]
            parsed.upstream_lines[parts[1]] = n
            continue
        if len(parts) != 3 or parts[2] not in ("read", "write") or len(parts[0]) < 8:
            raise InputError(
                path,
                "expected 'TOKEN USER read|write' (token of 8+ characters) or 'org ORG USER:ROLE ...'",
                line=n,
                hint=None,
            )
        if not valid_name(parts[1]):
            raise InputError(path, f"invalid user name {parts[1]!r}", line=n, hint=None)
        parsed.users[parts[0]] = User(parts[1], parts[2] == "write", parts[0])
    names = {u.name for u in parsed.users.values()}
    for user, memberships in parsed.orgs.items():
        for org in memberships:
            line_no = parsed.org_lines[org]
            if user not in names:
                raise InputError(path, f"org {org}: user {user!r} has no token line", line=line_no, hint=None)
            if org in names:
                raise InputError(path, f"org {org!r} is also a user name", line=line_no, hint=None)
    for user, line_no in parsed.upstream_lines.items():
        if user not in names:
            raise InputError(path, f"upstream: user {user!r} has no token line", line=line_no, hint=None)
        if any(hmac.compare_digest(t.encode(), parsed.upstream[user].encode()) for t in parsed.users):
            raise InputError(
                path, f"upstream: the token for {user!r} is a local token", line=line_no, hint=None
            )
    return {
        token: replace(
            u,
            orgs=tuple(sorted(parsed.orgs.get(u.name, {}).items())),
            upstream_token=parsed.upstream.get(u.name, ""),
        )
        for token, u in parsed.users.items()
    }


def _parse_org(path: Path, n: int, parts: list[str], parsed: _Parsed) -> None:
    if len(parts) < 3 or not valid_name(parts[1]):
        raise InputError(path, "expected 'org ORG USER:ROLE [USER:ROLE ...]'", line=n, hint=None)
    org = parts[1]
    parsed.org_lines.setdefault(org, n)
    for member in parts[2:]:
        user, _, role = member.partition(":")
        if not valid_name(user) or role not in ORG_ROLES:
            msg = f"org {org}: expected USER:ROLE with ROLE read, write or admin, got {member!r}"
            raise InputError(path, msg, line=n, hint=None)
        parsed.orgs.setdefault(user, {})[org] = role


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
            # Open development mode: any token is a user with write access to every namespace.
            return User("dev", True, token, anywhere=True)
        for known, user in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return user
        raise HubError(401, None, "Invalid credentials in Authorization header")

    def secrets(self) -> list[str]:
        """Every credential the tokens file holds (local tokens, upstream tokens), for log redaction."""
        if self.tokens is None:
            return []
        return [t for t in self.tokens] + [u.upstream_token for u in self.tokens.values() if u.upstream_token]

    def upstream_caller(self, authorization: str | None) -> Caller:
        """Who the caller is upstream; HubError 401 for a token the tokens file does not know.

        Open development mode has no local tokens: the client's own token is its upstream token,
        as when it talks to the Hub directly. With a tokens file, local tokens stay local.
        """
        if self.tokens is None:
            if not authorization:
                return Caller(None, None, "anonymous")
            self.identify(authorization)  # a malformed header is a 401 here as anywhere
            return Caller(authorization, credential_key(authorization), "the caller")
        user = self.identify(authorization)
        if user is None:
            return Caller(None, None, "anonymous")
        if not user.upstream_token:
            return Caller(None, None, user.name)
        upstream = f"Bearer {user.upstream_token}"
        return Caller(upstream, credential_key(upstream), user.name)

    def check_read(self, ref: RepoRef, meta: dict[str, Any] | None, user: User | None) -> None:
        """Raise the Hub's error when `user` may not read the repo (or it does not exist).

        Private repos are visible to the owner and to members of the owning org (any role), and
        look like missing repos to everyone else, as on the Hub.
        """
        if meta is None:
            raise _not_found(ref, user)
        member = user is not None and (user.anywhere or user.role_in(ref.namespace) is not None)
        if meta.get("private") and not member:
            raise _not_found(ref, user)
        gated = meta.get("gated")
        if gated and not (user and (member or user.name in meta.get("gated_users", []))):
            if user is None:
                raise HubError(
                    401, "GatedRepo", f"Access to {ref.id} is restricted. You must be authenticated."
                )
            raise HubError(403, "GatedRepo", f"Access to {ref.id} is restricted and you are not in the list.")

    def check_write(self, ref: RepoRef, user: User | None) -> User:
        """The writing user; 401 without a token, 403 for a read-only token or a foreign namespace."""
        if user is None:
            raise HubError(401, None, "You must use a write token to push (Authorization: Bearer ...).")
        if not user.write:
            raise HubError(403, None, f"Token of {user.name} is read-only; {ref.id} needs a write token")
        if not user.anywhere and user.role_in(ref.namespace) not in WRITE_ROLES:
            # No trailing period: huggingface_hub appends one when it shows the message.
            raise HubError(403, None, f"{user.name} cannot write to namespace {ref.namespace}")
        return user


def _not_found(ref: RepoRef, user: User | None) -> HubError:
    msg = f"Repository Not Found for url: {ref.url_path}. Please make sure you specified the correct repo id."
    # The Hub answers 401 to anonymous callers so they know a token might help.
    return HubError(401 if user is None else 404, "RepoNotFound", msg)
