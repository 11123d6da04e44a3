"""Validation of repo ids, revisions and file paths, and the Hub-style HTTP error they map to."""

from __future__ import annotations

import re
from dataclasses import dataclass

REPO_TYPES = ("model", "dataset", "space")
# URL prefix of each repo type in resolve URLs and its plural in /api/ URLs.
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
API_PLURAL = {"model": "models", "dataset": "datasets", "space": "spaces"}
PLURAL_TO_TYPE = {v: k for k, v in API_PLURAL.items()}

# The Hub's rules (huggingface_hub validate_repo_id): ASCII letters, digits, "-", "_", "."; not
# starting or ending with "-" or "."; at most 96 characters; no "--" or ".."; not ending in ".git".
# Every pattern is used with fullmatch: "$" would also accept a trailing newline.
_NAME_RE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?")
_REV_RE = re.compile(r"[A-Za-z0-9._/-]{1,255}")
_SHA_RE = re.compile(r"[0-9a-f]{40}")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
MAX_PATH_LEN = 1024


class HubError(Exception):
    """An error answered the Hub way: status, `X-Error-Code`, message, optional commit header."""

    def __init__(self, status: int, code: str | None, message: str, *, commit: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.commit = commit
        self.headers: dict[str, str] = {}  # extra response headers (e.g. Content-Range of a 416)


@dataclass(frozen=True)
class RepoRef:
    """A repository: its type and `namespace/name` id."""

    type: str
    namespace: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def url_path(self) -> str:
        """Path of the repo on the mirror, e.g. `datasets/org/name`."""
        return f"{URL_PREFIX[self.type]}{self.id}"

    @property
    def plural(self) -> str:
        return API_PLURAL[self.type]


def is_sha(value: object) -> bool:
    """True for a full 40-hex commit id."""
    return isinstance(value, str) and bool(_SHA_RE.fullmatch(value))


def is_sha256(value: object) -> bool:
    """True for a 64-hex sha256 (an LFS object id)."""
    return isinstance(value, str) and bool(_SHA256_RE.fullmatch(value))


def valid_name(part: str) -> bool:
    """True for a safe namespace or repo name component."""
    return (
        bool(_NAME_RE.fullmatch(part)) and ".." not in part and "--" not in part and not part.endswith(".git")
    )


def parse_repo(repo_type: str, namespace: str, name: str) -> RepoRef:
    """Validate a repo id; raises HubError 400 on a malformed one."""
    if repo_type not in REPO_TYPES:
        raise HubError(400, "BadRequest", f"Unknown repo type {repo_type!r}.")
    if not (valid_name(namespace) and valid_name(name)):
        raise HubError(400, "BadRequest", "Invalid repo id: expected 'namespace/name' of [A-Za-z0-9._-].")
    return RepoRef(repo_type, namespace, name)


def parse_repo_id(repo_id: str, repo_type: str = "model") -> RepoRef:
    """`org/name` -> RepoRef (HubError 400 when malformed)."""
    parts = repo_id.split("/")
    if len(parts) != 2:
        raise HubError(400, "BadRequest", f"Invalid repo id {repo_id!r}: expected 'namespace/name'.")
    return parse_repo(repo_type, parts[0], parts[1])


def check_revision(rev: str) -> str:
    """Validate a revision (branch, tag, `refs/pr/N` or commit id)."""
    if (
        not _REV_RE.fullmatch(rev)
        or ".." in rev
        or "//" in rev
        or rev.startswith(("/", "-"))
        or rev.endswith(("/", ".lock"))
    ):
        raise HubError(400, "BadRequest", "Invalid revision.")
    return rev


def check_branch_name(rev: str) -> str:
    """A name a commit may create or move (no commit ids)."""
    check_revision(rev)
    if is_sha(rev):
        raise HubError(400, "BadRequest", "A commit id is not a branch name.")
    return rev


def check_path(path: str) -> str:
    """Validate a file path inside a repo: relative, no `.`/`..` parts, no NUL or backslash."""
    if (
        not path
        or len(path) > MAX_PATH_LEN
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or any(ord(c) < 32 for c in path)
    ):
        raise HubError(400, "BadRequest", "Invalid file path.")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts) or parts[0] == ".git":
        raise HubError(400, "BadRequest", "Invalid file path.")
    return path
