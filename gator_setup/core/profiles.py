"""Profiles: named stacks (constraints plus platform expectations) loaded from constraints/."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """Placeholder filled by the GPU platform work (issue 3)."""

    name: str
