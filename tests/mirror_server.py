"""Test helper: run a gator mirror on 127.0.0.1 and publish local folders to it.

API (import with `from mirror_server import serve_mirror, import_repo, make_tiny_repo, run_client`):

    with serve_mirror(storage, upstream=None, offline=False, tokens_file=None, **config) as url:
        ...                               # url = "http://127.0.0.1:<free port>"; use HF_ENDPOINT=url

    start_mirror(storage, **config) -> BackgroundServer   # .url, .state (store, stats, pull), .stop()
        when a test needs the server's state (e.g. `server.state.pull.file_fetches`, `.up.requests`).

    import_repo(storage, folder, "org/name", repo_type="model", branch="main", private=False) -> commit
        publishes every file under `folder` as one commit (the server may be running).

    make_tiny_repo(folder) -> folder       writes a small model-like repo (config.json, weights, nested file)

    run_client(code, endpoint, token=None, timeout=120) -> CompletedProcess
        runs Python `code` in a subprocess with HF_ENDPOINT=endpoint (huggingface_hub reads it at import
        time), HF_HOME in a fresh temp folder and HF_HUB_DISABLE_TELEMETRY=1; raises on non-zero exit.

`**config` are MirrorConfig fields (branch_ttl, tree_page_size, upstream_token, upstream_timeout...).
The server binds 127.0.0.1 only and stops when the `with` block ends.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gator_setup.mirror.config import MirrorConfig
from gator_setup.mirror.ids import parse_repo_id
from gator_setup.mirror.server import BackgroundServer
from gator_setup.mirror.store import Store, import_folder


def start_mirror(storage: str | os.PathLike[str], **opts: Any) -> BackgroundServer:
    """Start a mirror on a free loopback port; call .stop() when done."""
    config = MirrorConfig(storage=Path(storage), host="127.0.0.1", port=0, **opts)
    return BackgroundServer(config).start()


@contextlib.contextmanager
def serve_mirror(storage: str | os.PathLike[str], **opts: Any) -> Iterator[str]:
    """Serve `storage` on 127.0.0.1 for the duration of the block; yields the base URL."""
    server = start_mirror(storage, **opts)
    try:
        yield server.url
    finally:
        server.stop()


def import_repo(
    storage: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    repo_id: str,
    *,
    repo_type: str = "model",
    branch: str = "main",
    private: bool = False,
) -> str:
    """Publish `folder` as one commit of `repo_id` in the store; returns the commit id."""
    sha, _ = import_folder(
        Store(storage), Path(folder), parse_repo_id(repo_id, repo_type), branch=branch, private=private
    )
    return sha


def make_tiny_repo(folder: str | os.PathLike[str], *, big: int = 300_000) -> Path:
    """A small model-like repo: config.json, a `big`-byte weights file (LFS by suffix), a nested file."""
    root = Path(folder)
    (root / "sub").mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text('{"model_type": "tiny", "hidden_size": 8}\n')
    (root / "README.md").write_text("# tiny\n")
    (root / "model.safetensors").write_bytes(bytes(range(256)) * (big // 256) + b"x" * (big % 256))
    (root / "sub" / "notes.txt").write_text("nested\n")
    return root


def run_client(
    code: str,
    endpoint: str,
    *,
    token: str | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `code` with the real huggingface_hub client pointed at `endpoint` in a fresh HF_HOME."""
    home = tempfile.mkdtemp(prefix="hf-home-")
    full_env = {
        **os.environ,
        "HF_ENDPOINT": endpoint,
        "HF_HOME": home,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        **(env or {}),
    }
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        full_env.pop(name, None)
    if token:
        full_env["HF_TOKEN"] = token
    proc = subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise AssertionError(f"client failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-4000:]}")
    return proc


#: `gator mirror serve` as one process (its RSS and its limits are the server's own).
SERVE_ONE_WORKER = [sys.executable, "-m", "gator_setup", "mirror", "serve", "--workers", "1"]


def http_request(
    url: str, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One plain HTTP request to the mirror at `url`: status, lower-cased headers, body."""
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(url).port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data
