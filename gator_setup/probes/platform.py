"""Platform facts: GPUs, drivers, ROCm/CUDA user space and the torch build.

`probe_platform` fills `PlatformFacts` through one `SystemView` (live, replayed or recorded): the
OS layer (Linux, WSL2, a container), then the AMD (`amd_probe`) and NVIDIA (`nvidia_probe`)
evidence, a recorded collect_env, RAM and the torch build. Files are read first; commands run
only when the files did not tell and something suggests a GPU, each with a timeout. Whatever
could not be learned is recorded in `unavailable` as "what: reason", never raised.
"""

from __future__ import annotations

import re

from gator_setup.probes import collect_env
from gator_setup.probes.amd_probe import probe_amd
from gator_setup.probes.gpu_facts import GpuDevice, PlatformFacts
from gator_setup.probes.gpu_ids import device_table, nvidia_arch_for
from gator_setup.probes.nvidia_probe import probe_nvidia, probe_nvml
from gator_setup.probes.system import SystemView
from gator_setup.probes.torch_build import probe_torch_build

#: The facts' types and the tables stay importable from here, where checks and tests look for them.
__all__ = [
    "GpuDevice",
    "PlatformFacts",
    "detect_container",
    "detect_platform",
    "device_table",
    "nvidia_arch_for",
    "probe_platform",
]


def _meminfo(system: SystemView) -> int | None:
    m = re.search(r"^MemTotal:\s+([0-9]+)\s*kB", system.read_text("/proc/meminfo") or "", re.MULTILINE)
    return int(m.group(1)) * 1024 if m else None


def detect_platform(system: SystemView) -> tuple[str, str | None]:
    """("WSL2", what showed it) under the Windows Subsystem for Linux, else ("Linux", None)."""
    version = system.read_text("/proc/version") or ""
    if re.search(r"microsoft", version, re.IGNORECASE):
        # WSL1 kernels say "-Microsoft"; WSL1 has no GPU access at all.
        kind = "WSL2" if re.search(r"WSL2|microsoft-standard", version) else "WSL1"
        return kind, "/proc/version"
    for path in ("/dev/dxg", "/usr/lib/wsl/lib"):
        if system.exists(path):
            return "WSL2", path
    return "Linux", None


def detect_container(system: SystemView) -> tuple[str | None, str | None]:
    """("docker"|"podman", marker path) when the marker file of a container runtime exists."""
    for path, kind in (("/.dockerenv", "docker"), ("/run/.containerenv", "podman")):
        if system.exists(path):
            return kind, path
    return None, None


def _probe_collect_env(system: SystemView, facts: PlatformFacts) -> None:
    """A recorded torch collect_env: GPUs, driver and platform when nothing else told."""
    if not system.has_command("collect-env"):
        return
    res = system.run("collect-env")
    if res.unavailable:
        return
    env = collect_env.parse_collect_env(res.stdout)
    if env.wsl and not facts.wsl:
        facts.platform = "WSL2"
        facts.sources["platform"] = "collect_env (Python platform)"
    facts.learn("nvidia_driver", env.nvidia_driver, "collect_env")
    if facts.gpus:
        return
    vendor = "amd" if env.hip_runtime or env.rocm_build else "nvidia"
    gpus = []
    for i, (name, gfx) in enumerate(env.gpus):
        arch = gfx if vendor == "amd" else nvidia_arch_for(name)
        gpus.append(GpuDevice(vendor=vendor, index=i, name=name, arch=arch, source="collect_env"))
    facts.gpus = tuple(gpus)


def probe_platform(
    system: SystemView,
    site_dirs: list[str],
    *,
    deep_python: str | None = None,
    use_nvml: bool = True,
) -> PlatformFacts:
    """Collect PlatformFacts; never raises for anything the system says or lacks."""
    from gator_setup.probes.torch_build import run_deep

    facts = PlatformFacts(sysroot=None if system.root == "/" else system.root)
    notes: list[str] = []
    errors: list[str] = []
    facts.platform, where = detect_platform(system)
    if where:
        facts.sources["platform"] = where
    facts.container, marker = detect_container(system)
    if marker:
        facts.sources["container"] = marker
    probe_amd(system, facts, notes, errors)
    probe_nvidia(system, facts, notes, errors)
    _probe_collect_env(system, facts)
    if use_nvml and facts.gpus_of("nvidia"):
        probe_nvml(facts, notes)
    facts.ram_bytes = _meminfo(system)
    facts.hsa_override = system.env().get("HSA_OVERRIDE_GFX_VERSION")
    facts.torch = probe_torch_build(system, site_dirs)
    if not facts.torch.version and system.has_command("collect-env"):
        facts.torch = collect_env.torch_build(system.run("collect-env").stdout) or facts.torch
    if deep_python and facts.torch.version:
        facts.deep = run_deep(deep_python)
        if facts.deep.arch_list:
            facts.torch = facts.torch._replace(arch_list=facts.deep.arch_list, arch_source="--deep")
    if not facts.gpus:
        notes.append(
            "GPU: none found (no KFD topology, no NVIDIA driver, no display-class PCI device, "
            "no GPU tool that answered)"
        )
    facts.unavailable = tuple(notes)
    facts.driver_errors = tuple(errors)
    return facts
