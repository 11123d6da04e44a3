"""Space ids, endpoints and the URLs and placeholder values derived from them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gator_setup.errors import UsageError

DEFAULT_ENDPOINT = "https://huggingface.co"
SDKS = ("gradio", "streamlit", "docker", "static")

# The Hub's own rule: letters, digits, '-', '_', '.'; no '--' or '..'; no leading/trailing '-' or '.';
# names at most 96 characters.
_PART = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SpaceId:
    """An `OWNER/NAME` Space id, validated."""

    owner: str
    name: str

    @property
    def repo_id(self) -> str:
        return f"{self.owner}/{self.name}"

    def url(self, endpoint: str) -> str:
        """The Space's page on the Hub at `endpoint`."""
        return f"{endpoint}/spaces/{self.repo_id}"

    @property
    def host(self) -> str:
        """Where the running app is served on huggingface.co (`owner-name.hf.space`)."""
        sub = re.sub(r"[^a-z0-9]+", "-", f"{self.owner}-{self.name}".lower()).strip("-")
        return f"https://{sub}.hf.space"

    def placeholders(self, endpoint: str) -> dict[str, str]:
        """Values for `{SPACE_ID}`-style placeholders in the uploaded text files."""
        return {
            "{SPACE_ID}": self.repo_id,
            "{SPACE_URL}": self.url(endpoint),
            "{SPACE_OWNER}": self.owner,
            "{SPACE_NAME}": self.name,
            "{SPACE_HOST}": self.host,
        }


def parse_space_id(value: str) -> SpaceId:
    """`OWNER/NAME` -> SpaceId, or a one-line UsageError saying what is wrong."""
    parts = value.split("/")
    bad = len(parts) != 2 or not all(_PART.match(p) for p in parts)
    if bad or any(".." in p or "--" in p for p in parts):
        raise UsageError(
            f"Invalid Space id {value!r}: expected OWNER/NAME (letters, digits, '-', '_', '.'; "
            "no '--' or '..'; at most 96 characters each).",
            hint="Example: --repo my-user/my-demo",
        )
    return SpaceId(parts[0], parts[1])


def normalize_endpoint(value: str | None) -> str:
    """An http(s) base URL without trailing slash; the Hub when unset."""
    url = (value or DEFAULT_ENDPOINT).strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise UsageError(f"Invalid endpoint {value!r}: expected http://HOST[:PORT] or https://HOST.")
    return url


def parse_var(value: str) -> tuple[str, str]:
    """`KEY=VALUE` -> (KEY, VALUE); the value is never echoed in errors."""
    key, sep, val = value.partition("=")
    if not sep:
        raise UsageError(f"--var expects KEY=VALUE, got {key!r} without '='.")
    check_key(key, "--var")
    return key, val


def check_key(key: str, option: str) -> str:
    """Variable and secret names are environment-variable names."""
    if not _KEY.match(key):
        raise UsageError(f"{option} {key!r}: names are letters, digits and '_', not starting with a digit.")
    return key
