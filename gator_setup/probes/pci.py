"""Display-class PCI devices from sysfs: the GPUs a machine has even when no driver is loaded."""

from __future__ import annotations

from gator_setup.probes.gpu_facts import GpuDevice
from gator_setup.probes.gpu_ids import device_table
from gator_setup.probes.system import SystemView


def pci_gpus(system: SystemView) -> list[GpuDevice]:
    """Display-class PCI devices from sysfs: finds a GPU even when no driver is loaded."""
    out: list[GpuDevice] = []
    for dev in system.listdir("/sys/bus/pci/devices"):
        base = f"/sys/bus/pci/devices/{dev}"
        cls = (system.read_text(f"{base}/class") or "").strip()
        if not cls.startswith("0x03"):
            continue
        vendor = (system.read_text(f"{base}/vendor") or "").strip().lower()
        device = (system.read_text(f"{base}/device") or "").strip().lower()
        kind = {"0x1002": "amd", "0x10de": "nvidia"}.get(vendor)
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
    return out
