"""Display-class PCI devices: the GPUs a machine has even when no driver is loaded.

Read from sysfs on a machine (or a replayed tree); a replay may instead hold a pasted `lspci`
(with or without `-nn`), which names the same devices.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from gator_setup.probes.gpu_facts import GpuDevice
from gator_setup.probes.gpu_ids import device_table, nvidia_arch_for
from gator_setup.probes.system import SystemView

_VENDORS = {"0x1002": "amd", "0x10de": "nvidia"}
#: `01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GM204 [GeForce GTX 970] [10de:13c2] (rev a1)`
_LSPCI = re.compile(
    r"^(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]\s+"
    r"(?:VGA compatible|3D|Display) controller(?: \[03[0-9a-f]{2}\])?:\s*(?P<rest>.*)$",
    re.MULTILINE,
)


class LspciDevice(NamedTuple):
    """One display controller line of lspci."""

    vendor: str | None
    device_id: str | None
    name: str | None


def parse_lspci(text: str) -> list[LspciDevice]:
    """Display controllers of AMD and NVIDIA from `lspci [-nn]` text (other vendors are skipped)."""
    out = []
    for m in _LSPCI.finditer(text):
        rest = re.sub(r"\s*\(rev [0-9a-fA-F]+\).*$", "", m.group("rest"))
        ids = re.search(r"\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]\s*$", rest)
        if ids:
            vendor = _VENDORS.get(f"0x{ids.group(1).lower()}")
            rest = rest[: ids.start()]
        elif re.match(r"(NVIDIA|nVidia)", rest):
            vendor = "nvidia"
        elif re.match(r"Advanced Micro Devices|AMD|ATI", rest):
            vendor = "amd"
        else:
            vendor = None
        if vendor is None:
            continue
        # The marketing name is the last bracketed part: "GM204 [GeForce GTX 970]".
        names = re.findall(r"\[([^\]]+)\]", rest)
        name = next((n for n in reversed(names) if n not in ("AMD/ATI", "AMD")), None)
        out.append(LspciDevice(vendor, f"0x{ids.group(2).lower()}" if ids else None, name))
    return out


def _from_lspci(system: SystemView) -> list[GpuDevice]:
    out: list[GpuDevice] = []
    for d in parse_lspci(system.run("lspci").stdout):
        vendor = d.vendor or ""
        row = device_table().get(vendor, {}).get(d.device_id or "", {})
        name = row.get("name") or d.name
        arch = row.get("gfx") or row.get("arch") or (nvidia_arch_for(d.name) if vendor == "nvidia" else None)
        index = len([g for g in out if g.vendor == vendor])
        out.append(GpuDevice(vendor, index, name=name, arch=arch, device_id=d.device_id, source="lspci"))
    return out


def pci_gpus(system: SystemView) -> list[GpuDevice]:
    """Display-class PCI devices from sysfs (or a replayed lspci): finds a GPU with no driver loaded."""
    out: list[GpuDevice] = []
    for dev in system.listdir("/sys/bus/pci/devices"):
        base = f"/sys/bus/pci/devices/{dev}"
        cls = (system.read_text(f"{base}/class") or "").strip()
        if not cls.startswith("0x03"):
            continue
        vendor = (system.read_text(f"{base}/vendor") or "").strip().lower()
        device = (system.read_text(f"{base}/device") or "").strip().lower()
        kind = _VENDORS.get(vendor)
        if kind is None:
            continue
        row = device_table().get(kind, {}).get(device, {})
        vram = (system.read_text(f"{base}/mem_info_vram_total") or "").strip()
        out.append(
            GpuDevice(
                vendor=kind,
                index=len([g for g in out if g.vendor == kind]),
                name=row.get("name"),
                arch=row.get("gfx") or row.get("arch"),
                device_id=device or None,
                vram_bytes=int(vram) if vram.isascii() and vram.isdigit() else None,
                source="PCI sysfs",
            )
        )
    if not out and system.has_command("lspci"):
        out = _from_lspci(system)
    return out
