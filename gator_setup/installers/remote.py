"""Talk to the Hub (or a mirror): resolve a revision to a commit, list files with sizes and hashes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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


@contextmanager
def hub_errors(
    repo: str, revision: str | None, endpoint: str, *, gated: bool | None = None
) -> Iterator[None]:
    """Turn huggingface_hub exceptions into one-line errors that say what to do."""
    from huggingface_hub import errors as hf_errors

    page = f"{endpoint if endpoint != DEFAULT_ENDPOINT else 'https://huggingface.co'}/{repo}"
    login = "set HF_TOKEN or run `hf auth login`"
    try:
        yield
    except hf_errors.GatedRepoError:
        raise AccessError(
            f"{repo} is gated: accept its licence at {page} with your account, then {login}."
        ) from None
    except hf_errors.RevisionNotFoundError:
        raise AccessError(
            f"Revision {revision!r} not found in {repo}.", hint=f"Check the branch, tag or commit at {page}."
        ) from None
    except hf_errors.RepositoryNotFoundError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status == 401 or gated:
            raise AccessError(
                f"{repo}: access denied (HTTP {status or 401}); the repo is private, gated or the token is "
                f"missing or invalid: {login} (licence page: {page})."
            ) from None
        raise AccessError(
            f"{repo} not found on {endpoint} (HTTP {status or 404}).",
            hint=f"Check the id, or {login} if it is private.",
        ) from None
    except hf_errors.RemoteEntryNotFoundError as exc:
        raise AccessError(f"{repo}: file not found on the server: {exc}".splitlines()[0]) from None
    except hf_errors.HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise AccessError(
                f"{repo}: access denied (HTTP {status}): {login} (licence page: {page})."
            ) from None
        raise InstallError(f"{repo}: server error from {endpoint}: {str(exc).splitlines()[0]}") from None
    except hf_errors.LocalEntryNotFoundError as exc:
        raise InstallError(
            f"Cannot reach {endpoint} for {repo}: {str(exc).splitlines()[0]}",
            hint="Check the network or --endpoint / HF_ENDPOINT.",
        ) from None
    except OSError as exc:
        raise InstallError(f"Cannot reach {endpoint} for {repo}: {exc}") from None
    except Exception as exc:
        # httpx/httpx2 transport errors do not share a base class we can import on every hub version.
        if "Connect" in type(exc).__name__ or "Timeout" in type(exc).__name__:
            raise InstallError(
                f"Cannot reach {endpoint} for {repo}: {exc}", hint="Check --endpoint / HF_ENDPOINT."
            ) from None
        raise


def list_repo(repo: str, revision: str | None, *, endpoint: str, token: str | None) -> RepoListing:
    """Resolve `revision` (default main) to a commit and list every file with size and hash."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    api = HfApi(endpoint=endpoint, token=token or False)
    with hub_errors(repo, revision, endpoint):
        info = api.model_info(repo, revision=revision or "main")
        commit = info.sha
        if not commit:
            raise InstallError(f"{endpoint} did not return a commit for {repo}@{revision or 'main'}.")
        files: dict[str, RemoteFile] = {}
        for item in api.list_repo_tree(repo, recursive=True, revision=commit):
            if not isinstance(item, RepoFile):
                continue
            lfs = item.lfs
            sha = getattr(lfs, "sha256", None) if lfs is not None else None
            files[item.path] = RemoteFile(item.path, int(item.size), sha, item.blob_id)
    return RepoListing(repo, commit, files)


def fetch_json(
    repo: str, filename: str, commit: str, *, endpoint: str, token: str | None, cache_dir: str | None
) -> dict[str, Any]:
    """Download one small JSON file (e.g. model_index.json) through the cache and parse it."""
    from huggingface_hub import hf_hub_download

    with hub_errors(repo, commit, endpoint):
        path = hf_hub_download(
            repo, filename, revision=commit, endpoint=endpoint, token=token or False, cache_dir=cache_dir
        )
    with open(str(path), encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise InstallError(f"{repo}/{filename} is not a JSON object.")
    return data


def check_access(repo: str, filename: str, commit: str, *, endpoint: str, token: str | None) -> None:
    """HEAD one file: gated / private repos fail here, before any large download starts."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(repo, filename, revision=commit, endpoint=endpoint)
    with hub_errors(repo, commit, endpoint):
        get_hf_file_metadata(url, token=token or False)
