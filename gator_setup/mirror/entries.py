"""What a resolved revision is (`Located`) and the Hub headers of one file entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gator_setup.mirror.auth import Caller


@dataclass
class Located:
    """A revision resolved to a stored commit, plus headers to add (e.g. stale-upstream notice)."""

    meta: dict[str, Any]
    sha: str
    commit: dict[str, Any]
    extra_headers: dict[str, str] = field(default_factory=dict)
    local: bool = True
    caller: Caller | None = None  # pull-through: who asks, as the upstream sees it


def etag_of(entry: dict[str, Any]) -> str:
    """The Hub's ETag: sha256 for LFS files, git blob id otherwise."""
    return str(entry["sha256"] if entry.get("lfs") else entry["oid"])


def file_headers(sha: str, entry: dict[str, Any]) -> dict[str, str]:
    """X-Repo-Commit, ETag and (LFS files) X-Linked-Etag / X-Linked-Size, as the Hub sends them."""
    etag = etag_of(entry)
    headers = {"X-Repo-Commit": sha, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
    if entry.get("lfs"):
        headers["X-Linked-Etag"] = f'"{etag}"'
        headers["X-Linked-Size"] = str(entry["size"])
    return headers
