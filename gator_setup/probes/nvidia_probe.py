"""NVIDIA GPUs: /proc/driver/nvidia first; nvidia-smi (query, plain, -q, -L) only when something
suggests an NVIDIA GPU (the driver, a PCI device, /dev/nvidiactl, WSL's /dev/dxg, or nvidia-smi
itself); NVML when its binding is importable. Capabilities the tools do not print come from the
name table."""

from __future__ import annotations

from gator_setup.probes import nvidia_parse
from gator_setup.probes.gpu_facts import GpuDevice, PlatformFacts
from gator_setup.probes.gpu_ids import nvidia_arch_for
from gator_setup.probes.pci import pci_gpus
from gator_setup.probes.system import COMMANDS, SystemView

NVIDIA_TOOLS = ("nvidia-smi-query", "nvidia-smi-query-nocap", "nvidia-smi", "nvidia-smi-q", "nvidia-smi-L")


def _nvidia_tools(
    system: SystemView, facts: PlatformFacts, notes: list[str], errors: list[str]
) -> list[GpuDevice]:
    gpus: list[nvidia_parse.NvidiaGpu] = []
    source = "nvidia-smi"
    for key in ("nvidia-smi-query", "nvidia-smi-query-nocap"):
        if not system.has_command(key):
            continue
        res = system.run(key)
        if res.unavailable:
            notes.append(f"{key}: not available: {res.unavailable}")
            break
        gpus, err = nvidia_parse.parse_query_csv(res.stdout)
        if gpus:
            source = "nvidia-smi --query-gpu"
            break
        if err and "not a valid field" not in err:
            break  # the driver itself failed; a second query would fail the same way
    for key, parse in (
        ("nvidia-smi", nvidia_parse.parse_nvidia_smi),
        ("nvidia-smi-q", nvidia_parse.parse_nvidia_smi_q),
        ("nvidia-smi-L", nvidia_parse.parse_nvidia_smi_list),
    ):
        # -q only while something is unknown; -L (names only) only while no GPU is known.
        enough = gpus and (key == "nvidia-smi-L" or facts.cuda_driver_api)
        if not system.has_command(key) or (key != "nvidia-smi" and enough):
            continue
        res = system.run(key)
        if res.unavailable:
            notes.append(f"{key}: not available: {res.unavailable}")
            continue
        parsed = parse(res.stdout)
        label = " ".join(COMMANDS[key][:2])
        facts.learn("cuda_driver_api", parsed.cuda, label)
        facts.learn("nvidia_driver", parsed.driver, label)
        if parsed.windows_driver and not facts.wsl:
            facts.platform = "WSL2"
            facts.sources["platform"] = f"{label} (Windows driver model WDDM/TCC)"
        if parsed.error and parsed.error not in errors:
            errors.append(parsed.error)
        if not gpus and parsed.gpus:
            gpus, source = list(parsed.gpus), label
    devs = []
    for i, g in enumerate(gpus):
        arch, where = g.arch, source
        if arch is None:
            arch = nvidia_arch_for(g.name, g.family)
            where = f"{source}; arch from the name table" if arch else source
        devs.append(
            GpuDevice(
                vendor="nvidia",
                index=g.index if g.index is not None else i,
                name=f"{g.name} ..." if g.truncated and g.name else g.name,
                arch=arch,
                vram_bytes=g.vram_bytes,
                source=where,
            )
        )
        facts.learn("nvidia_driver", g.driver, source)
    return devs


def probe_nvidia(system: SystemView, facts: PlatformFacts, notes: list[str], errors: list[str]) -> None:
    driver = nvidia_parse.parse_proc_version(system.read_text("/proc/driver/nvidia/version") or "")
    facts.learn("nvidia_driver", driver, "/proc/driver/nvidia/version")
    pci = [g for g in pci_gpus(system) if g.vendor == "nvidia"]
    hints = (
        driver is not None
        or bool(pci)
        or bool(system.listdir("/proc/driver/nvidia/gpus"))
        or system.exists("/dev/nvidiactl")
        or (facts.wsl and system.exists("/dev/dxg"))
        or any(system.has_command(k) for k in NVIDIA_TOOLS)
    )
    if not hints:
        return
    devs = _nvidia_tools(system, facts, notes, errors) or pci
    facts.gpus = (*facts.gpus, *devs)


def probe_nvml(facts: PlatformFacts, notes: list[str]) -> None:
    """NVML through its Python binding, when importable (live system only)."""
    try:
        import pynvml
    except ImportError:
        return
    try:
        pynvml.nvmlInit()
        try:
            cuda = pynvml.nvmlSystemGetCudaDriverVersion()
            facts.learn("cuda_driver_api", f"{cuda // 1000}.{(cuda % 1000) // 10}", "NVML")
            drv = pynvml.nvmlSystemGetDriverVersion()
            facts.learn("nvidia_driver", drv.decode() if isinstance(drv, bytes) else drv, "NVML")
        finally:
            pynvml.nvmlShutdown()
    except Exception as exc:  # NVMLError subclasses; a broken driver must not sink the doctor
        notes.append(f"NVML: not available: {exc}")
