"""Integrity checks: sha256 / git-blob sha1 of downloaded files, and a from_pretrained load test."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from gator_setup.installers.errors import ChecksumError, InstallError
from gator_setup.installers.remote import RemoteFile

_CHUNK = 4 * 1024 * 1024


def sha256_file(path: Path) -> str:
    """Streamed sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def git_blob_sha1(path: Path) -> str:
    """The git object id of a file (what the Hub lists as `oid` for non-LFS files)."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def discard(path: Path) -> None:
    """Delete a bad file: the snapshot link and the blob it points to (so it is never reused)."""
    try:
        real = path.resolve()
        if path.is_symlink():
            path.unlink()
        if real.exists():
            real.unlink()
    except OSError:
        pass


def check_file(remote: RemoteFile, path: Path, digest: str | None = None) -> str:
    """Verify size and hash of a downloaded file; return its digest (sha256, or git oid if small).

    `digest` is the hash computed while streaming (None: hash the file now). A mismatch deletes the
    file and raises ChecksumError: a corrupted file is never kept.
    """
    size = path.stat().st_size
    if size != remote.size:
        discard(path)
        raise ChecksumError(
            f"{remote.path}: size {size} differs from the server's {remote.size}; the file was deleted.",
            hint="Run the same command again to download it afresh.",
        )
    expected = remote.sha256 or remote.git_oid
    if not expected:
        return ""
    got = digest or (sha256_file(path) if remote.sha256 else git_blob_sha1(path))
    if got != expected:
        discard(path)
        raise ChecksumError(
            f"{remote.path}: checksum mismatch (got {got[:12]}, expected {expected[:12]}); "
            "the corrupted file was deleted.",
            hint="Run the same command again; if it repeats, the server or a proxy is serving bad bytes.",
        )
    return got


_LOAD_SCRIPT = r"""
import json, sys
spec = json.loads(sys.argv[1])
kind = spec["kind"]
kwargs = {"local_files_only": True}
if spec.get("revision"):
    kwargs["revision"] = spec["revision"]
if spec.get("cache_dir"):
    kwargs["cache_dir"] = spec["cache_dir"]
if kind == "diffusers":
    from diffusers import DiffusionPipeline
    if spec.get("variant"):
        kwargs["variant"] = spec["variant"]
    obj = DiffusionPipeline.from_pretrained(spec["source"], **kwargs)
    names = sorted(k for k, v in obj.components.items() if v is not None)
else:
    from transformers import AutoConfig, AutoModel
    obj = AutoModel.from_pretrained(spec["source"], **kwargs)
    names = [type(obj).__name__]
print("GATOR_LOADED " + type(obj).__name__ + " " + ",".join(names))
"""


def load_check(
    kind: str,
    source: str,
    *,
    python: str,
    revision: str | None,
    variant: str | None,
    cache_dir: str | None,
    timeout: float = 900,
) -> str:
    """Build the model with from_pretrained in a subprocess of `python`, offline; return its class."""
    if kind not in ("diffusers", "transformers"):
        raise InstallError(f"--verify load is not supported for kind {kind!r}; use --verify checksum.")
    spec = {"kind": kind, "source": source, "revision": revision, "variant": variant, "cache_dir": cache_dir}
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error", DIFFUSERS_VERBOSITY="error")
    try:
        proc = subprocess.run(
            [python, "-c", _LOAD_SCRIPT, json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"--verify load could not run {python}: {exc}") from None
    for line in proc.stdout.splitlines():
        if line.startswith("GATOR_LOADED "):
            return line.split(" ", 2)[1]
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    raise InstallError(
        f"--verify load failed: from_pretrained could not build {source}: {last}",
        hint="The files are kept; `gator doctor` checks the runtime libraries.",
    )
