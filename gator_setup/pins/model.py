"""Declaration: one requirement, constraint or locked version found in a project file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from gator_setup.errors import InputError
from gator_setup.findings import Location

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

    @classmethod
    def parse(
        cls, text: str, path: Path, line: int | None, *, kind: str, where: str = "", group: str | None = None
    ) -> Declaration | None:
        """A declaration from a PEP 508 string; None for URL requirements (no range to check)."""
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            first = str(exc).splitlines()[0]
            context = f" in {where}" if where else ""
            raise InputError(path, f"invalid requirement {text!r}{context}: {first}", line=line) from None
        if req.url:
            return None
        return cls(
            name=canonicalize_name(req.name),
            specifier=req.specifier,
            location=Location(str(path), line),
            raw=text,
            kind=kind,
            marker=req.marker,
            group=group,
        )


@dataclass
class PinSet:
    """Everything read from a project's files."""

    declarations: list[Declaration]
    files: list[str]
    requires_python: SpecifierSet | None = None
