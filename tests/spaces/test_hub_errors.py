"""Mapping of Hub failures to one-line errors, and the token check, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from gator_setup.spaces.errors import (
    EndpointUnreachableError,
    HubRequestError,
    NamespaceForbiddenError,
    TokenMissingError,
    TokenReadOnlyError,
    TokenRejectedError,
)
from gator_setup.spaces.hub import Hub, mapped_errors, resolve_token
from gator_setup.spaces.naming import parse_space_id

TOKEN = "hf_unit_test_token_123"


def http_error(status: int, message: str) -> Exception:
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    response = httpx2.Response(status, request=httpx2.Request("GET", "http://127.0.0.1:9/api/x"))
    return HfHubHTTPError(message, response=response)


@pytest.mark.parametrize(
    ("status", "kind"), [(401, TokenRejectedError), (403, NamespaceForbiddenError), (500, HubRequestError)]
)
def test_status_mapping_scrubs_token(status: int, kind: type) -> None:
    with pytest.raises(kind) as info, mapped_errors("Uploading", "http://h", TOKEN, "acme", "me"):
        raise http_error(status, f"server said {TOKEN}")
    assert TOKEN not in str(info.value)
    assert "\n" not in str(info.value)


def test_payment_required_names_the_way_out() -> None:
    with (
        pytest.raises(HubRequestError, match="--sdk static") as info,
        mapped_errors("Creating", "http://h", TOKEN),
    ):
        raise http_error(402, "Payment required")
    assert "HTTP 402" in str(info.value)


def test_network_errors_are_unreachable() -> None:
    with (
        pytest.raises(EndpointUnreachableError, match="Cannot reach http://h"),
        mapped_errors("x", "http://h", TOKEN),
    ):
        raise ConnectionRefusedError(111, "Connection refused")


def test_secret_values_scrubbed() -> None:
    with (
        pytest.raises(HubRequestError) as info,
        mapped_errors("Setting", "http://h", TOKEN, hidden=("s3cr3t",)),
    ):
        raise http_error(422, "value s3cr3t rejected")
    assert "s3cr3t" not in str(info.value)


class FakeApi:
    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info

    def whoami(self, token: str) -> dict[str, Any]:
        return self.info


def hub_with(info: dict[str, Any], token: str | None = TOKEN) -> Hub:
    hub = Hub("http://h", token)
    hub._api = FakeApi(info)
    return hub


def test_token_checks_before_any_write() -> None:
    with pytest.raises(TokenMissingError, match="HF_TOKEN"):
        hub_with({}, token=None).identity()
    me = {"name": "me", "orgs": [{"name": "acme", "roleInOrg": "write"}, {"name": "ro", "roleInOrg": "read"}]}
    assert hub_with(me).check_can_write(parse_space_id("acme/x")).user == "me"
    assert hub_with(me).check_can_write(parse_space_id("me/x")).orgs == ("acme", "ro")
    with pytest.raises(NamespaceForbiddenError, match="--repo me/NAME"):
        hub_with(me).check_can_write(parse_space_id("other/x"))
    with pytest.raises(NamespaceForbiddenError):
        hub_with(me).check_can_write(parse_space_id("ro/x"))
    read_only = {**me, "auth": {"accessToken": {"role": "read"}}}
    with pytest.raises(TokenReadOnlyError, match="write token"):
        hub_with(read_only).check_can_write(parse_space_id("me/x"))


def test_saved_login_token_only_goes_to_its_hub(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from huggingface_hub import constants

    saved = tmp_path / "token"
    saved.write_text("hf_saved_login_token")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(saved))
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert resolve_token("https://huggingface.co") == "hf_saved_login_token"
    assert resolve_token("http://127.0.0.1:8000") is None
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:8000/")
    assert resolve_token("http://127.0.0.1:8000") == "hf_saved_login_token"
    monkeypatch.setenv("HF_TOKEN", "env-token")
    assert resolve_token("http://elsewhere:1") == "env-token"
    with pytest.raises(TokenMissingError, match=r"only sent to huggingface\.co"):
        Hub("http://elsewhere:1", None).identity()
