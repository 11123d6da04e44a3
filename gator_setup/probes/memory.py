"""Machine memory and disk: total RAM, GPU memory (nvidia-smi / rocm-smi) and free disk space."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MemoryFacts:
    """Sizes in bytes; None when they could not be collected (with `notes` saying why)."""

    ram_total: int | None
    vram_total: int | None
    gpu_names: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def ram_total() -> int | None:
    """Physical memory in bytes (POSIX sysconf)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _run(cmd: list[str], timeout: float = 5) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def gpu_memory() -> tuple[int | None, tuple[str, ...], str | None]:
    """Largest single GPU's memory in bytes, GPU names, or a note why unknown."""
    out = _run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"])
    if out:
        names, sizes = [], []
        for line in out.strip().splitlines():
            name, _, mib = line.rpartition(",")
            try:
                sizes.append(int(float(mib.strip())) * 1024 * 1024)
                names.append(name.strip())
            except ValueError:
                continue
        if sizes:
            return max(sizes), tuple(names), None
    out = _run(["rocm-smi", "--showmeminfo", "vram", "--csv"])
    if out:
        sizes = []
        for line in out.strip().splitlines()[1:]:
            parts = line.split(",")
            if len(parts) >= 2 and parts[1].strip().isdigit():
                sizes.append(int(parts[1]))
        if sizes:
            return max(sizes), tuple(f"AMD GPU {i}" for i in range(len(sizes))), None
    return None, (), "no GPU found (nvidia-smi / rocm-smi absent or failed)"


def memory_facts() -> MemoryFacts:
    """RAM and VRAM of this machine: the doctor's platform probe (sysfs/KFD, NVML, nvidia-smi) first."""
    try:
        from gator_setup.probes.platform import probe_platform
        from gator_setup.probes.system import LiveSystem

        facts = probe_platform(LiveSystem(), [], use_nvml=True)
        sizes = [g.vram_bytes for g in facts.gpus if g.vram_bytes]
        if facts.gpus:
            return MemoryFacts(
                facts.ram_bytes or ram_total(),
                max(sizes) if sizes else None,
                tuple(g.name or g.vendor for g in facts.gpus),
                () if sizes else ("GPU found but its memory size is unknown",),
            )
    except Exception:
        pass
    vram, names, note = gpu_memory()
    return MemoryFacts(ram_total(), vram, names, (note,) if note else ())


def free_space(path: Path) -> int:
    """Free bytes on the filesystem that holds `path` (or its nearest existing parent)."""
    p = Path(path).absolute()
    while not p.exists() and p.parent != p:
        p = p.parent
    return shutil.disk_usage(p).free
