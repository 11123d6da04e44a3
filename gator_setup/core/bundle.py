"""Support bundles: the raw inputs the platform probes read, as a tar.gz that `--sysroot` replays."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
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


#: What --from-output recognises, for the error that names none of it.
KNOWN_OUTPUTS = (
    "rocminfo, rocm-smi, amd-smi static/version, nvidia-smi (plain, -q, --query-gpu csv), "
    "torch collect_env, /proc/driver/nvidia/version, uname -a, groups/id, ls -l /dev/kfd /dev/dri"
)


def _read_pasted(path: str) -> str:
    import sys

    from gator_setup.probes.system import MAX_READ_BYTES, decode

    if path == "-":
        return decode(sys.stdin.buffer.read(MAX_READ_BYTES))
    try:
        with open(path, "rb") as fh:
            return decode(fh.read(MAX_READ_BYTES))
    except OSError as exc:
        raise InputError(path, f"cannot read it ({exc.strerror or exc})") from None


def sysroot_from_outputs(paths: Sequence[str], workdir: Path) -> Path:
    """A replay tree (the --sysroot layout) built from pasted tool outputs.

    Each file may hold one output or a terminal transcript of several; every part goes where the
    probe that would have run that command looks for it. The tree has an empty site-packages, so
    the packages of the machine running gator are not mixed into the pasted machine's verdict; a
    pasted collect_env supplies torch and the libraries it lists instead.
    """
    from gator_setup.probes import collect_env, pasted

    commands: dict[str, list[str]] = {}
    files: dict[str, list[str]] = {}
    devices: dict[str, dict[str, str]] = {}
    who: dict[str, object] = {}
    for path in paths:
        found = pasted.pieces(_read_pasted(path))
        if not found:
            raise InputError(
                path,
                "no GPU tool output recognised in it",
                hint=f"--from-output reads: {KNOWN_OUTPUTS}.",
            )
        for piece in found:
            if piece.target.startswith("file:"):
                files.setdefault(piece.target[5:], []).append(piece.text)
            elif piece.target in ("groups", "id"):
                user, groups = pasted.parse_groups(piece.target, piece.text)
                who.update({"groups": groups, "login_groups": groups, **({"user": user} if user else {})})
            elif piece.target == "devices":
                devices.update(pasted.parse_devices(piece.command, piece.text))
            else:
                commands.setdefault(piece.target, []).append(piece.text)
    root = workdir / "from-output"
    site = root / SITE_IN_BUNDLE
    site.mkdir(parents=True)
    entries: dict[str, str] = {}
    for key, texts in commands.items():
        entries[f".gator/commands/{key}.txt"] = "\n".join(texts)
    for file, texts in files.items():
        entries[file.lstrip("/")] = "\n".join(texts)
    # Marks a tree of pasted parts: a device node it does not list is unknown, not absent.
    entries[".gator/pasted.json"] = json.dumps({"inputs": list(paths)}, indent=2) + "\n"
    if who:
        entries[".gator/user.json"] = json.dumps(who, indent=2) + "\n"
    if devices:
        entries[".gator/devices.json"] = json.dumps(devices, indent=2) + "\n"
        for dev in devices:
            entries[dev.lstrip("/")] = ""
    if "collect-env" in commands:
        env = collect_env.parse_collect_env(entries[".gator/commands/collect-env.txt"])
        pins = dict(env.packages)
        if env.torch_version:
            pins["torch"] = env.torch_version
        for name, version in pins.items():
            if name in BUNDLED_DISTS:
                meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                entries[f"{SITE_IN_BUNDLE}/{name.replace('-', '_')}-{version}.dist-info/METADATA"] = meta
    for name, text in entries.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root
