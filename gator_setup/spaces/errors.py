"""Errors of `gator space`: each names the next step, none ever carries a token."""

from __future__ import annotations

from gator_setup.errors import GatorError


class SpaceError(GatorError):
    """A deploy that cannot go on; printed as one line, exit 2."""


class TokenMissingError(SpaceError):
    """No token could be found (HF_TOKEN unset and nothing stored by `hf auth login`)."""

    def __init__(self, endpoint: str, *, login_ignored: bool = False) -> None:
        if login_ignored:
            hint = (
                f"Set HF_TOKEN to a write token of {endpoint} (a token saved by `hf auth login` "
                "is only sent to huggingface.co or HF_ENDPOINT)."
            )
        else:
            hint = (
                f"Create a write token at {endpoint}/settings/tokens and set HF_TOKEN "
                "(or run `hf auth login`)."
            )
        super().__init__(f"No Hugging Face token found for {endpoint}.", hint=hint)


class TokenRejectedError(SpaceError):
    """The Hub answered 401: the token is unknown, revoked or expired."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(
            f"The token was rejected by {endpoint} (401 Unauthorized).",
            hint=f"Create a new write token at {endpoint}/settings/tokens and set HF_TOKEN.",
        )


class TokenReadOnlyError(SpaceError):
    """The token is valid but can only read."""

    def __init__(self, endpoint: str, user: str) -> None:
        super().__init__(
            f"The token of {user!r} is read-only; deploying a Space needs a write token.",
            hint=f"Create a write token at {endpoint}/settings/tokens and set HF_TOKEN.",
        )


class NamespaceForbiddenError(SpaceError):
    """The token may not write to the namespace (403, or not a member of the org)."""

    def __init__(self, owner: str, user: str | None, orgs: tuple[str, ...] = ()) -> None:
        who = f"{user!r}" if user else "This token"
        member = f" (member of: {', '.join(orgs)})" if orgs else ""
        fix = f"Use --repo {user}/NAME" if user else "Use a namespace you own in --repo"
        super().__init__(
            f"{who} may not write to the namespace {owner!r}{member} (403 Forbidden).",
            hint=f"{fix}, or ask an admin of {owner!r} for write access.",
        )


class EndpointUnreachableError(SpaceError):
    """The endpoint cannot be reached (refused, DNS, timeout)."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(
            f"Cannot reach {endpoint} ({reason}).",
            hint="Check --endpoint (or HF_ENDPOINT) and that the server is running.",
        )


class HubRequestError(SpaceError):
    """Any other refusal from the Hub, with its status and the server's own message."""

    def __init__(self, action: str, status: int | None, detail: str) -> None:
        code = f" (HTTP {status})" if status else ""
        super().__init__(f"{action} failed{code}: {detail}")
