"""Install failures: each a one-line GatorError that names the fix."""

from __future__ import annotations

from gator_setup.errors import GatorError


class InstallError(GatorError):
    """A model install could not be done (network, access, disk, integrity)."""


class AccessError(InstallError):
    """The Hub refused access: gated repo, missing or bad token, unknown repo or revision."""


class DiskSpaceError(InstallError):
    """Not enough free space for the selected files; raised before downloading anything."""

    def __init__(self, where: str, need: int, free: int) -> None:
        super().__init__(
            f"Not enough disk space in {where}: the selection needs {fmt_bytes(need)} more, "
            f"{fmt_bytes(free)} free.",
            hint="Free some space, or pass --models-dir / --cache-dir on a bigger disk.",
        )
        self.need = need
        self.free = free


class ChecksumError(InstallError):
    """A downloaded file does not match the Hub's hash; it was deleted, not kept."""


class LockMismatchError(InstallError):
    """`--locked` found a difference between gator-models.lock and the server."""


class CatalogError(GatorError):
    """The built-in or user catalog is invalid."""


def fmt_bytes(n: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as the Hub shows sizes)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover
