"""GPU identity tables from knowledge/gpu_ids.toml: PCI device id -> ISA, NVIDIA name -> capability."""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@lru_cache(maxsize=1)
def _gpu_ids() -> dict[str, Any]:
    text = resources.files("gator_setup.knowledge").joinpath("gpu_ids.toml").read_text("utf-8")
    return tomllib.loads(text)


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
