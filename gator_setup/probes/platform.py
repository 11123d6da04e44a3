"""Platform facts: GPUs, drivers, ROCm/CUDA user space and the torch build."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PlatformFacts:
    """Placeholder filled by the GPU platform work (issue 3)."""
