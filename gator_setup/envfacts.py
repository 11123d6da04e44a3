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


def record_paths(text: str) -> list[str]:
    """The first field of each row of a RECORD file's text (the installed paths, in order; empty
    rows skipped), as `csv.reader` reads it. Without quotes, and with carriage returns only before
    line feeds (every RECORD seen: pip and uv write no quotes unless a path needs them), a row's
    first field is its line up to the first comma, read here without csv (torch's RECORD has
    12,000 rows); any other text goes through csv."""
    lines = text.replace("\r\n", "\n") if "\r" in text else text
    if '"' in text or "\r" in lines:
        import csv
        import io

        return [row[0] for row in csv.reader(io.StringIO(text)) if row]
    return [line.partition(",")[0] for line in lines.split("\n") if line]


@dataclass(frozen=True)
class ProbeProblem:
    """Something a probe could not collect, and why (becomes a finding, never a crash)."""

    probe: str
    subject: str
    message: str
