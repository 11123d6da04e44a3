"""Import facts: what installed packages and the project import from watched providers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ImportFacts:
    """Placeholder filled by the import-compatibility work (issue 2)."""
