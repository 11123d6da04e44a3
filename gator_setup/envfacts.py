"""Value types of an inspected environment: its interpreter, its distributions, what a probe missed.

They sit below the probes that fill them and the snapshot that holds them (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gator_setup.names import canonicalize_name

if TYPE_CHECKING:
    from packaging.version import Version


@dataclass(frozen=True)
class Interpreter:
    """The Python interpreter whose environment is inspected."""

    executable: str
    version: str
    implementation: str
    platform: str
    machine: str
    sys_path: tuple[str, ...]
    prefix: str
    base_prefix: str

    @property
    def is_venv(self) -> bool:
        return self.prefix != self.base_prefix


@dataclass(frozen=True)
class Distribution:
    """One installed distribution, as its metadata declares it."""

    name: str
    version: str
    requires: tuple[str, ...] = ()
    path: str | None = None

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)

    @property
    def parsed_version(self) -> Version | None:
        # imported here: a warm `gator scan` never parses versions, so it need not import packaging
        from packaging.version import InvalidVersion, Version

        try:
            return Version(self.version)
        except InvalidVersion:
            return None


@dataclass(frozen=True)
class ProbeProblem:
    """Something a probe could not collect, and why (becomes a finding, never a crash)."""

    probe: str
    subject: str
    message: str
