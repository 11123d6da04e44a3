"""A provider release unpacked into the gator cache, for `gator scan --hub-version` (pip download
once, then offline)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gator_setup.analysis.providers import Provider
from gator_setup.errors import GatorError, UsageError

if TYPE_CHECKING:
    import subprocess

DOWNLOAD_TIMEOUT_S = 120.0


class DownloadError(GatorError):
    """A provider wheel could not be fetched (offline and not cached, or no such version)."""


def fetch_provider(dist: str, module: str, version: str) -> Provider:
    """Unpack `dist==version` into the gator cache (pip download --no-deps; offline once cached)."""
    import shutil
    import tempfile

    from packaging.version import InvalidVersion, Version

    from gator_setup.cachedir import cache_root

    try:
        Version(version)
    except InvalidVersion:
        raise UsageError(f"{version!r} is not a version.", hint="Example: --hub-version 1.0.0") from None
    target = cache_root() / "providers" / f"{dist}-{version}"
    if (target / ".complete").is_file():
        return Provider(module, dist, version, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".dl-") as tmp:
        unpacked = Path(tmp) / "unpacked"
        _download_unpacked(dist, version, Path(tmp), unpacked)
        (unpacked / ".complete").write_text(f"{dist}=={version}")
        # Rename into place only when complete: an interrupted run leaves nothing half-unpacked.
        try:
            os.replace(unpacked, target)
        except OSError:
            if not (target / ".complete").is_file():
                shutil.rmtree(target, ignore_errors=True)
                os.replace(unpacked, target)
    return Provider(module, dist, version, target)


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    import subprocess  # (only to fetch a provider: a scan's start does not pay for the import)

    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(cmd, 1, "", str(exc))


def _download_unpacked(dist: str, version: str, tmp: Path, unpacked: Path) -> None:
    """`pip download --no-deps` the wheel and unzip it; without pip, `uv pip install --target`."""
    import shutil
    import zipfile

    spec = f"{dist}=={version}"
    pip = (
        [sys.executable, "-m", "pip"]
        if _has_pip()
        else ([shutil.which("pip") or ""] if shutil.which("pip") else None)
    )
    errors: list[str] = []
    if pip:
        proc = _run(
            [
                *pip,
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-q",
                "-d",
                str(tmp),
                spec,
            ]
        )
        wheels = sorted(tmp.glob("*.whl"))
        if proc.returncode == 0 and wheels:
            try:
                with zipfile.ZipFile(wheels[0]) as zf:
                    zf.extractall(unpacked)
                return
            except (zipfile.BadZipFile, OSError) as exc:
                raise DownloadError(f"Downloaded wheel for {spec} is unreadable: {exc}.") from None
        errors.append((proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1])
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if Path(uv).exists():
        proc = _run([uv, "pip", "install", "-q", "--no-deps", "--target", str(unpacked), spec])
        if proc.returncode == 0:
            return
        errors.append((proc.stderr.strip().splitlines() or ["uv failed"])[-1])
    raise DownloadError(
        f"Cannot download {spec}: {errors[-1] if errors else 'neither pip nor uv is available'}",
        hint="Check the version exists on PyPI and that PyPI is reachable (needed once; it is cached).",
    )


def _has_pip() -> bool:
    import importlib.util

    return importlib.util.find_spec("pip") is not None
