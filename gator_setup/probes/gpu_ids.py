"""GPU identity tables from knowledge/gpu_ids.toml: PCI device id -> ISA, NVIDIA name -> capability."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from gator_setup.tomlread import load_toml

#: (read as a file beside the package, as the other knowledge tables are: importlib.resources
#: would cost the doctor's start-up its import)
GPU_IDS = Path(__file__).resolve().parent.parent / "knowledge" / "gpu_ids.toml"


@lru_cache(maxsize=1)
def _gpu_ids() -> dict[str, Any]:
    return load_toml(GPU_IDS)


def device_table() -> dict[str, dict[str, dict[str, str]]]:
    """PCI device id -> ISA table from knowledge/gpu_ids.toml."""
    data = _gpu_ids()
    return {vendor: {k.lower(): v for k, v in data[vendor].items()} for vendor in ("amd", "nvidia")}


@lru_cache(maxsize=1)
def _name_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    rows = _gpu_ids().get("nvidia_name", [])
    return tuple((re.compile(r["pattern"], re.IGNORECASE), r["arch"]) for r in rows)


def nvidia_arch_for(name: str | None, family: str | None = None) -> str | None:
    """Compute capability ('sm_90') from a GPU name, else from the -q architecture family."""
    for pattern, arch in _name_patterns() if name else ():
        if pattern.search(name or ""):
            return arch
    families: dict[str, str] = _gpu_ids().get("nvidia_family", {})
    return families.get(family or "")
