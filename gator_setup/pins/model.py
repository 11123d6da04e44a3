"""Declaration: one requirement, constraint or locked version found in a project file."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from gator_setup.checks.base import Location

#: A requirement declares a package; a constraint only narrows it; a lock pins it exactly.
KINDS = ("requirement", "constraint", "lock")


@dataclass(frozen=True)
class Declaration:
    """A package named in a file, with its range, marker and where it was written."""

    name: str  # canonical
    specifier: SpecifierSet
    location: Location
    raw: str
    kind: str = "requirement"
    marker: Marker | None = None
    #: The extra or dependency group that brings it in (None: always installed).
    group: str | None = None

    @property
    def display(self) -> str:
        return self.raw.strip()


@dataclass
class PinSet:
    """Everything read from a project's files."""

    declarations: list[Declaration]
    files: list[str]
    requires_python: SpecifierSet | None = None
