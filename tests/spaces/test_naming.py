"""Space ids, endpoints, --var parsing and placeholder values."""

from __future__ import annotations

import pytest

from gator_setup.errors import UsageError
from gator_setup.spaces.naming import normalize_endpoint, parse_space_id, parse_var


@pytest.mark.parametrize("good", ["me/demo", "Acme-Org/my_demo.v2", "a/b"])
def test_valid_ids(good: str) -> None:
    space = parse_space_id(good)
    assert space.repo_id == good


@pytest.mark.parametrize(
    "bad",
    [
        "demo",
        "me/",
        "/demo",
        "a/b/c",
        "me/de mo",
        "me/-demo",
        "me/demo.",
        "me/de--mo",
        "me/a..b",
        "me/" + "x" * 97,
    ],
)
def test_invalid_ids_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="OWNER/NAME"):
        parse_space_id(bad)


def test_placeholders_and_urls() -> None:
    space = parse_space_id("Me/My_Demo")
    values = space.placeholders("http://127.0.0.1:8000")
    assert values["{SPACE_ID}"] == "Me/My_Demo"
    assert values["{SPACE_URL}"] == "http://127.0.0.1:8000/spaces/Me/My_Demo"
    assert values["{SPACE_HOST}"] == "https://me-my-demo.hf.space"


def test_endpoint_normalized_and_checked() -> None:
    assert normalize_endpoint("http://127.0.0.1:9/") == "http://127.0.0.1:9"
    assert normalize_endpoint(None) == "https://huggingface.co"
    with pytest.raises(UsageError):
        normalize_endpoint("ftp://x")


def test_var_parsing_never_echoes_value() -> None:
    assert parse_var("MODE=a=b") == ("MODE", "a=b")
    with pytest.raises(UsageError) as info:
        parse_var("1BAD=hunter2")
    assert "hunter2" not in str(info.value)
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_var("NOEQUALS")
