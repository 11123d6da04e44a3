"""Talk to the Hub (or a mirror): resolve a revision to a commit, list files with sizes and hashes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gator_setup.installers import net
from gator_setup.installers.errors import AccessError, InstallError

DEFAULT_ENDPOINT = "https://huggingface.co"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a repo at a commit, as the server lists it."""

    path: str
    size: int
    sha256: str | None  # LFS files: sha256 of the content (what we verify)
    git_oid: str | None  # git blob sha1 (small, non-LFS files)


@dataclass(frozen=True)
class RepoListing:
    """A repo pinned to one commit."""

    repo: str
    commit: str
    files: dict[str, RemoteFile]


def endpoint_or_default(endpoint: str | None) -> str:
    """--endpoint, else $HF_ENDPOINT, else huggingface.co (no trailing slash)."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def find_token() -> str | None:
    """The token huggingface_hub would send ($HF_TOKEN or the stored login); never printed."""
    from huggingface_hub import get_token

    token: str | None = get_token()
    return token


def _raise_for(
    answer: net.Answer,
    repo: str,
    revision: str | None,
    endpoint: str,
    *,
    gated: bool | None = None,
    path: str | None = None,
) -> None:
    """Turn a Hub error answer into a one-line error that says what to do (nothing for 2xx/3xx)."""
    status = answer.status
    if status < 400:
        return
    headers = {k.lower(): v for k, v in answer.headers.items()}
    code = headers.get("x-error-code", "")
    page = f"{endpoint}/{repo}"
    login = "set HF_TOKEN or run `hf auth login`"
    if code == "GatedRepo":
        raise AccessError(f"{repo} is gated: accept its licence at {page} with your account, then {login}.")
    if code == "RevisionNotFound":
        raise AccessError(
            f"Revision {revision!r} not found in {repo}.", hint=f"Check the branch, tag or commit at {page}."
        )
    if code == "EntryNotFound" or (status == 404 and path is not None and code != "RepoNotFound"):
        raise AccessError(f"{repo}: {path or 'file'} not found on the server (HTTP {status}).")
    if status in (401, 403) or (gated and status == 404):
        raise AccessError(
            f"{repo}: access denied (HTTP {status}); the repo is private, gated or the token is "
            f"missing or invalid: {login} (licence page: {page})."
        )
    if status == 404:
        raise AccessError(
            f"{repo} not found on {endpoint} (HTTP 404).", hint=f"Check the id, or {login} if it is private."
        )
    message = headers.get("x-error-message") or f"HTTP {status}"
    raise InstallError(f"{repo}: server error from {endpoint}: {message.splitlines()[0]}")


def _api(endpoint: str, repo: str, *parts: str) -> str:
    return f"{endpoint}/api/models/{quote(repo, safe='/')}/" + "/".join(quote(p, safe="") for p in parts)


def _json(answer: net.Answer, endpoint: str, repo: str, what: str) -> Any:
    try:
        return answer.json()
    except ValueError:
        raise InstallError(
            f"{endpoint} answered {what} for {repo} with something that is not JSON.",
            hint="Is --endpoint / HF_ENDPOINT a Hub or a gator mirror?",
        ) from None


def list_repo(
    repo: str,
    revision: str | None,
    *,
    endpoint: str,
    token: str | None,
    settings: net.NetSettings | None = None,
) -> RepoListing:
    """Resolve `revision` (default main) to a commit and list every file with size and hash."""
    settings = settings or net.NetSettings.from_env()
    rev = revision or "main"
    what = f"revision info of {repo}"
    answer = net.fetch(_api(endpoint, repo, "revision", rev), token=token, settings=settings, what=what)
    _raise_for(answer, repo, rev, endpoint)
    info = _json(answer, endpoint, repo, what)
    commit = info.get("sha") if isinstance(info, dict) else None
    if not isinstance(commit, str) or not commit:
        raise InstallError(f"{endpoint} did not return a commit for {repo}@{rev}.")
    files: dict[str, RemoteFile] = {}
    url: str | None = _api(endpoint, repo, "tree", commit) + "?recursive=true&expand=false"
    pages = 0
    while url and pages < 10_000:
        what = f"file list of {repo}"
        answer = net.fetch(url, token=token, settings=settings, what=what)
        _raise_for(answer, repo, commit, endpoint)
        items = _json(answer, endpoint, repo, what)
        if not isinstance(items, list):
            raise InstallError(f"{endpoint} answered the file list of {repo} with something not a list.")
        for item in items:
            if not isinstance(item, dict) or item.get("type") != "file":
                continue
            lfs = item.get("lfs")
            sha = lfs.get("oid") or lfs.get("sha256") if isinstance(lfs, dict) else None
            files[item["path"]] = RemoteFile(item["path"], int(item.get("size", 0)), sha, item.get("oid"))
        pages += 1
        url = _next_link(answer.headers)
    return RepoListing(repo, commit, files)


def _next_link(headers: Mapping[str, str]) -> str | None:
    link = next((v for k, v in headers.items() if k.lower() == "link"), "")
    for part in link.split(","):
        if 'rel="next"' in part:
            return part.split(";")[0].strip().strip("<>")
    return None


def file_url(endpoint: str, repo: str, commit: str, filename: str) -> str:
    """The resolve URL of one file at a commit."""
    return f"{endpoint}/{quote(repo, safe='/')}/resolve/{commit}/{quote(filename)}"


def fetch_json(
    repo: str,
    filename: str,
    commit: str,
    *,
    endpoint: str,
    token: str | None,
    settings: net.NetSettings | None = None,
) -> dict[str, Any]:
    """Download one small JSON file (e.g. model_index.json) and parse it."""
    settings = settings or net.NetSettings.from_env()
    answer = net.fetch(
        file_url(endpoint, repo, commit, filename), token=token, settings=settings, what=f"{repo}/{filename}"
    )
    _raise_for(answer, repo, commit, endpoint, path=filename)
    try:
        data = answer.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise InstallError(f"{repo}/{filename} is not a JSON object.")
    return data


def check_access(
    repo: str,
    filename: str,
    commit: str,
    *,
    endpoint: str,
    token: str | None,
    gated: bool | None = None,
    settings: net.NetSettings | None = None,
) -> None:
    """HEAD one file: gated / private repos fail here, before any large download starts."""
    settings = settings or net.NetSettings.from_env()
    answer = net.fetch(
        file_url(endpoint, repo, commit, filename),
        token=token,
        settings=settings,
        what=f"{repo}/{filename}",
        method="HEAD",
        follow_redirects=False,
    )
    _raise_for(answer, repo, commit, endpoint, gated=gated, path=filename)
