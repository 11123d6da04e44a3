"""Server options, shared by the CLI, the test helper and the app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class MirrorConfig:
    """How one mirror runs."""

    storage: Path
    host: str = "127.0.0.1"
    port: int = 8090
    upstream: str | None = None  # e.g. https://huggingface.co or another mirror
    offline: bool = False  # serve only what is stored, never contact the upstream
    tokens_file: Path | None = None  # None: open development mode (loopback only)
    upstream_token: str | None = None  # the mirror's own token for the upstream (never sent to clients)
    branch_ttl: float = 60.0  # seconds before a branch name is re-resolved upstream
    access_ttl: float = 60.0  # seconds an upstream verdict on a caller's private/gated access is reused
    upstream_timeout: float = 30.0  # connect/read timeout towards the upstream
    tree_page_size: int = 1000  # entries per tree page (the Hub caps pages at 1000)
    list_page_size: int = 1000  # repos per listing page; commit-history pages hold at most 50 (as the Hub)
    public_url: str | None = None  # base URL clients use, for absolute Link headers (default: Host header)
    access_log: bool = True
    # Hardening against hostile clients (docs/mirror.md, SECURITY); None: derived from the open-file limit.
    idle_timeout: float = 30.0  # a connection idle (or still sending its headers) this long is closed
    body_timeout: float = 60.0  # a request body that brings no byte for this long is refused (408)
    max_connections: int | None = None  # total; the oldest idle connection makes room for a new one
    max_connections_per_client: int | None = None  # per client address
    max_uploads: int = 4  # commit / LFS upload bodies received at once; more wait their turn
    max_file_size: int = 50 * 1024**3  # one uploaded file (the Hub's plain-HTTP limit)
    lfs_uploads: bool = True  # preupload answers `lfs` by the Hub's rules (Xet or LFS uploads follow)
