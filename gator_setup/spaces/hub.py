"""Everything that talks to the Hub: token check, repo creation, remote listing, upload, settings.

Only huggingface_hub's HTTP API is used (no git subprocess), and the token travels in the
Authorization header only; every message that leaves this module is scrubbed of it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gator_setup.spaces.errors import (
    EndpointUnreachableError,
    HubRequestError,
    NamespaceForbiddenError,
    SpaceError,
    TokenMissingError,
    TokenReadOnlyError,
    TokenRejectedError,
)
from gator_setup.spaces.naming import DEFAULT_ENDPOINT, SpaceId
from gator_setup.spaces.staging import StagedFile

_NETWORK_NAMES = ("ConnectError", "ConnectionError", "Timeout", "NetworkError", "TransportError")


@dataclass(frozen=True)
class Identity:
    """Who the token belongs to and where it may write."""

    user: str
    orgs: tuple[str, ...]
    writable_orgs: tuple[str, ...]
    role: str | None  # "read", "write", "fineGrained" or None when the server does not say
    anywhere: bool = False  # the server says any token may write to every namespace (gator mirror, open mode)


@dataclass(frozen=True)
class RemoteFile:
    """A file of the Space as the Hub lists it."""

    path: str
    size: int
    blob_id: str | None
    lfs_sha256: str | None

    def matches(self, local: StagedFile) -> bool:
        """Same content: the LFS sha256 for LFS files, the git blob id otherwise."""
        if self.lfs_sha256:
            return self.lfs_sha256 == local.sha256
        return self.blob_id == local.git_sha1


def _login_endpoints() -> set[str]:
    """Where a token saved by `hf auth login` may go: huggingface.co and HF_ENDPOINT."""
    return {DEFAULT_ENDPOINT, (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).strip().rstrip("/")}


def resolve_token(endpoint: str, explicit: str | None = None) -> str | None:
    """HF_TOKEN first; the token saved by `hf auth login` only for the Hub it was made for.

    Sending the saved huggingface.co token to another --endpoint would hand a real credential to
    whatever server runs there, so other endpoints get HF_TOKEN or nothing.
    """
    if explicit:
        return explicit
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    if endpoint not in _login_endpoints():
        return None
    from huggingface_hub import get_token

    token: str | None = get_token()
    return token


def scrub(text: str, *hidden: str | None) -> str:
    """The text with the token and secret values replaced by ***."""
    for value in hidden:
        if value:
            text = text.replace(value, "***")
    return text


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _is_network(exc: BaseException) -> bool:
    names = [cls.__name__ for cls in type(exc).__mro__]
    return isinstance(exc, (ConnectionError, TimeoutError)) or any(
        key in name for name in names for key in _NETWORK_NAMES
    )


@contextlib.contextmanager
def mapped_errors(
    action: str,
    endpoint: str,
    token: str | None,
    owner: str | None = None,
    user: str | None = None,
    hidden: tuple[str, ...] = (),
) -> Iterator[None]:
    """Turn huggingface_hub / HTTP failures into one-line SpaceErrors naming the fix."""
    try:
        yield
    except SpaceError:
        raise
    except Exception as exc:
        status = _status(exc)
        if status == 401:
            raise TokenRejectedError(endpoint) from None
        if status == 403 and owner is not None:
            raise NamespaceForbiddenError(owner, user) from None
        if status == 402:
            raise HubRequestError(
                action,
                status,
                "payment required: this SDK or hardware needs a subscription or billing on the Hub. "
                "Drop --hardware, or use --sdk static (free for everyone).",
            ) from None
        if status is not None:
            detail = getattr(exc, "server_message", None) or str(exc).splitlines()[0]
            raise HubRequestError(action, status, scrub(str(detail), token, *hidden)) from None
        if _is_network(exc):
            reason = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, token, *hidden)
            raise EndpointUnreachableError(endpoint, reason) from None
        raise


def _open_mode(whoami: dict[str, Any]) -> bool:
    """True when whoami carries a `gator mirror`'s open-mode mark (never on huggingface.co)."""
    mark = whoami.get("gator")
    return isinstance(mark, dict) and mark.get("openMode") is True


class Hub:
    """A thin wrapper over HfApi bound to one endpoint and token."""

    def __init__(self, endpoint: str, token: str | None) -> None:
        self.endpoint = endpoint
        self.token = token
        self._api: Any = None

    @property
    def api(self) -> Any:
        if self._api is None:
            from huggingface_hub import HfApi

            from gator_setup.installers.net import limit_hub_session

            limit_hub_session()  # (a dead --endpoint: an error within a minute, not a silent hang)
            self._api = HfApi(endpoint=self.endpoint, token=self.token)
        return self._api

    def identity(self) -> Identity:
        """whoami-v2, with 401/unreachable mapped; needs a token."""
        if not self.token:
            raise TokenMissingError(self.endpoint, login_ignored=self.endpoint not in _login_endpoints())
        with mapped_errors("Checking the token", self.endpoint, self.token):
            info = self.api.whoami(token=self.token)
        orgs = [o for o in info.get("orgs") or [] if isinstance(o, dict) and o.get("name")]
        role = ((info.get("auth") or {}).get("accessToken") or {}).get("role")
        return Identity(
            user=str(info.get("name", "")),
            orgs=tuple(str(o["name"]) for o in orgs),
            writable_orgs=tuple(str(o["name"]) for o in orgs if o.get("roleInOrg") not in ("read",)),
            role=role if isinstance(role, str) else None,
            anywhere=_open_mode(info),
        )

    def check_can_write(self, space: SpaceId) -> Identity:
        """Refuse early (before any write) when the server would refuse the namespace: the same rules.

        A user writes to its own namespace and to orgs where its role is not read; a `gator mirror`
        in open development mode says so in whoami and lets any token write anywhere.
        """
        who = self.identity()
        if who.role == "read":
            raise TokenReadOnlyError(self.endpoint, who.user)
        if who.anywhere:
            return who
        if space.owner != who.user and space.owner not in who.writable_orgs:
            raise NamespaceForbiddenError(space.owner, who.user, who.orgs)
        return who

    def create_space(
        self, space: SpaceId, sdk: str, hardware: str | None, private: bool, who: Identity
    ) -> None:
        """create_repo(exist_ok=True): a no-op when the Space already exists."""
        with mapped_errors("Creating the Space", self.endpoint, self.token, space.owner, who.user):
            try:
                self.api.create_repo(
                    space.repo_id,
                    repo_type="space",
                    space_sdk=sdk,
                    space_hardware=hardware,
                    private=private,
                    exist_ok=True,
                )
            except ValueError as exc:
                # huggingface_hub 2.x answers a 403 on create for a Space that exists by building its
                # URL without the endpoint, which fails (HfUriError) for any host but huggingface.co.
                # It only gets there after repo_info found the Space, so the Space exists: go on,
                # and the next write meets the server's own verdict.
                if type(exc).__name__ != "HfUriError":
                    raise

    def remote_files(self, space: SpaceId, who: Identity) -> dict[str, RemoteFile]:
        """The Space's files on its main branch; empty for a Space without commits."""
        out: dict[str, RemoteFile] = {}
        with mapped_errors("Listing the Space's files", self.endpoint, self.token, space.owner, who.user):
            try:
                entries = list(self.api.list_repo_tree(space.repo_id, repo_type="space", recursive=True))
            except Exception as exc:
                if _status(exc) == 404:  # a Space with no commit yet has no main branch
                    return out
                raise
        for e in entries:
            if not hasattr(e, "blob_id"):  # folders
                continue
            lfs = getattr(e, "lfs", None)
            out[e.path] = RemoteFile(e.path, int(e.size or 0), e.blob_id, getattr(lfs, "sha256", None))
        return out

    def upload(self, space: SpaceId, folder: str, message: str, ignore: list[str], who: Identity) -> Any:
        """upload_folder of the staged changes; returns huggingface_hub's CommitInfo."""
        with mapped_errors("Uploading", self.endpoint, self.token, space.owner, who.user):
            return self.api.upload_folder(
                repo_id=space.repo_id,
                repo_type="space",
                folder_path=folder,
                commit_message=message,
                ignore_patterns=ignore,
            )

    def current_variables(self, space: SpaceId, who: Identity) -> dict[str, str]:
        """The Space's public variables (key -> value); empty for a Space without any."""
        with mapped_errors("Reading the Space's variables", self.endpoint, self.token, space.owner, who.user):
            try:
                found = self.api.get_space_variables(space.repo_id)
            except Exception as exc:
                if _status(exc) == 404:
                    return {}
                raise
        return {str(k): str(getattr(v, "value", "")) for k, v in dict(found).items()}

    def set_settings(
        self, space: SpaceId, variables: dict[str, str], secrets: dict[str, str], who: Identity
    ) -> list[str]:
        """add_space_variable / add_space_secret; returns the variables that changed. Values never logged.

        A variable that already has its value is not sent again: on the Hub a settings change
        restarts the Space, and a re-deploy that changes nothing must not. Secrets are always sent:
        the Hub never gives their values back, so there is nothing to compare with.
        """
        current = self.current_variables(space, who) if variables else {}
        variables = {k: v for k, v in variables.items() if current.get(k) != v}
        for key, value in variables.items():
            with mapped_errors(
                f"Setting variable {key}", self.endpoint, self.token, space.owner, who.user, hidden=(value,)
            ):
                self.api.add_space_variable(space.repo_id, key, value)
        for key, value in secrets.items():
            with mapped_errors(
                f"Setting secret {key}", self.endpoint, self.token, space.owner, who.user, hidden=(value,)
            ):
                self.api.add_space_secret(space.repo_id, key, value)
        return sorted(variables)
