"""Support bundles: the raw inputs the platform probes read, as a tar.gz that `--sysroot` replays."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from gator_setup.errors import InputError, UsageError
from gator_setup.probes.system import Recorder
from gator_setup.snapshot import Distribution

SITE_IN_BUNDLE = ".gator/site-packages"
#: Distributions whose metadata the bundle keeps (the ones the GPU and profile checks read).
BUNDLED_DISTS = (
    "torch",
    "numpy",
    "diffusers",
    "huggingface-hub",
    "transformers",
    "safetensors",
    "accelerate",
)
_SECRETS = (
    re.compile(r"hf_[A-Za-z0-9]{20,}"),
    re.compile(r"(?i)((?:token|password|passwd|secret|api[_-]?key|serial)\w*\s*[:=]\s*)\S+"),
)
REDACTED = "<redacted>"


def redact(text: str) -> str:
    """Tokens, passwords and serial numbers replaced by a marker."""
    text = _SECRETS[0].sub(REDACTED, text)
    return _SECRETS[1].sub(lambda m: m.group(1) + REDACTED, text)


def _bundle_path(path: str, site_dirs: Iterable[str]) -> str:
    for site in site_dirs:
        prefix = site.rstrip("/") + "/"
        if ("/" + path).startswith(prefix):
            return SITE_IN_BUNDLE + "/" + ("/" + path)[len(prefix) :]
    return path


def bundle_entries(
    recorder: Recorder,
    site_dirs: list[str],
    dists: Mapping[str, Distribution],
    env: Mapping[str, str],
) -> dict[str, str]:
    """bundle path -> text for everything the probes read, plus dist metadata and GPU env vars."""
    out: dict[str, str] = {}
    for path, text in recorder.entries():
        out[_bundle_path(path, site_dirs)] = redact(text)
    for key in BUNDLED_DISTS:
        d = dists.get(key)
        if d is None:
            continue
        meta = f"Metadata-Version: 2.1\nName: {d.name}\nVersion: {d.version}\n"
        out[f"{SITE_IN_BUNDLE}/{d.name.replace('-', '_')}-{d.version}.dist-info/METADATA"] = meta
    gpu_env = {k: v for k, v in env.items() if k.startswith(("HSA_", "HIP_", "ROCM_", "CUDA_"))}
    out[".gator/env.json"] = redact(json.dumps(gpu_env, indent=2)) + "\n"
    return out


def write_bundle(path: str | os.PathLike[str], entries: Mapping[str, str]) -> Path:
    """Write a tar.gz atomically (temp file + rename): an interrupted run leaves no partial bundle."""
    dest = Path(path)
    if not dest.parent.is_dir():
        raise UsageError(f"Folder {dest.parent} does not exist.", hint="Pass --save-bundle DIR/FILE.tar.gz.")
    if dest.is_dir():
        raise UsageError(f"{dest} is a folder.", hint="Pass --save-bundle DIR/FILE.tar.gz.")
    fd, tmp = tempfile.mkstemp(prefix=".gator-bundle-", suffix=".tar.gz", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
            now = int(time.time())
            for name, text in sorted(entries.items()):
                data = text.encode("utf-8")
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), now, 0o644
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def open_sysroot(path: str | os.PathLike[str], workdir: Path) -> Path:
    """A --sysroot argument as a directory: a folder as is, a .tar.gz bundle unpacked into `workdir`."""
    p = Path(path)
    if p.is_dir():
        return p
    if not p.is_file():
        raise UsageError(f"Sysroot {p} does not exist.", hint="Pass a folder or a bundle from --save-bundle.")
    try:
        with tarfile.open(p, "r:*") as tar:
            members = [
                m
                for m in tar.getmembers()
                if m.isfile() and not m.name.startswith("/") and ".." not in Path(m.name).parts
            ]
            for m in members:
                target = workdir / m.name
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(m)
                if src is not None:
                    target.write_bytes(src.read())
    except (tarfile.ReadError, EOFError):
        # (tarfile's own text lists each compression it tried, over several lines)
        raise InputError(
            p,
            "not a bundle: not a tar archive (gzip, bzip2, xz or plain), or a damaged one.",
            hint="Pass a folder, or a .tar.gz written by `gator doctor --save-bundle`.",
        ) from None
    except (tarfile.TarError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(p, f"not a readable bundle ({first})", hint="Pass a folder or a .tar.gz.") from None
    return workdir
