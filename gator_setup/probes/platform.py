"""Platform facts: GPUs, drivers, ROCm/CUDA user space and the torch build.

`probe_platform` fills `PlatformFacts` through one `SystemView` (live, replayed or recorded).
Files are read first; commands (rocminfo, amd-smi, rocm-smi, nvidia-smi) run only when the files
did not tell, each with a timeout. Whatever could not be learned is recorded in `unavailable`
as "what: reason", never raised.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from gator_setup.probes import amd_parse, nvidia_parse
from gator_setup.probes.system import NodeAccess, SystemView, UserInfo
from gator_setup.probes.torch_build import DeepTorch, TorchBuild, probe_torch_build

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KFD_NODES = ("/sys/class/kfd/kfd/topology/nodes", "/sys/devices/virtual/kfd/kfd/topology/nodes")


@dataclass(frozen=True)
class GpuDevice:
    """One GPU, whichever vendor; `arch` is 'gfx900' (AMD) or 'sm_86' (NVIDIA) when known."""

    vendor: str
    index: int
    name: str | None = None
    arch: str | None = None
    device_id: str | None = None
    vram_bytes: int | None = None
    compute_units: int | None = None
    render_node: str | None = None
    source: str = ""

    @property
    def label(self) -> str:
        parts = [self.name or f"{self.vendor.upper()} GPU {self.device_id or ''}".strip()]
        if self.arch:
            parts.append(f"({self.arch})")
        if self.vram_bytes:
            parts.append(f"{self.vram_bytes / 1024**3:.0f} GiB")
        return " ".join(parts)


@dataclass
class PlatformFacts:
    """Everything the GPU probes learned; checks read it, nothing here touches the system."""

    gpus: tuple[GpuDevice, ...] = ()
    rocm_version: str | None = None
    rocm_source: str | None = None
    amdgpu_driver: str | None = None
    nvidia_driver: str | None = None
    #: Highest CUDA the NVIDIA driver supports ('12.2'), when a tool said so.
    cuda_driver_api: str | None = None
    #: A driver-level failure: "Failed to initialize NVML: ...", "cannot open /dev/kfd: ...".
    driver_errors: tuple[str, ...] = ()
    device_nodes: tuple[NodeAccess, ...] = ()
    user: UserInfo | None = None
    torch: TorchBuild = field(default_factory=TorchBuild)
    deep: DeepTorch | None = None
    ram_bytes: int | None = None
    hsa_override: str | None = None
    #: "what: reason" for every fact that could not be collected.
    unavailable: tuple[str, ...] = ()
    sysroot: str | None = None

    @property
    def vendors(self) -> set[str]:
        return {g.vendor for g in self.gpus}

    def gpus_of(self, vendor: str) -> list[GpuDevice]:
        return [g for g in self.gpus if g.vendor == vendor]


@lru_cache(maxsize=1)
def device_table() -> dict[str, dict[str, dict[str, str]]]:
    """PCI device id -> ISA table from knowledge/gpu_ids.toml."""
    text = resources.files("gator_setup.knowledge").joinpath("gpu_ids.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return {vendor: {k.lower(): v for k, v in rows.items()} for vendor, rows in data.items()}


def _hex(dev: int | None) -> str | None:
    return None if dev is None else f"0x{dev:04x}"


def _amd_from(gpu: amd_parse.AmdGpu, index: int, source: str) -> GpuDevice:
    dev = _hex(gpu.device_id)
    row = device_table().get("amd", {}).get(dev or "", {})
    return GpuDevice(
        vendor="amd",
        index=index,
        name=gpu.name or row.get("name"),
        arch=gpu.gfx or row.get("gfx"),
        device_id=dev,
        vram_bytes=gpu.vram_bytes,
        compute_units=gpu.compute_units,
        render_node=None if gpu.render_minor is None else f"/dev/dri/renderD{gpu.render_minor}",
        source=source,
    )


def _kfd_gpus(system: SystemView) -> list[GpuDevice]:
    for base in KFD_NODES:
        nodes = [n for n in system.listdir(base) if n.isascii() and n.isdigit()]
        if not nodes:
            continue
        out: list[GpuDevice] = []
        for n in sorted(nodes, key=int):
            props = amd_parse.parse_kfd_properties(system.read_text(f"{base}/{n}/properties") or "")
            gpu = amd_parse.gpu_from_kfd(props, node=int(n))
            if gpu is None:
                continue
            if not gpu.vram_bytes:
                # Newer kernels report local_mem_size 0; the memory bank holds the VRAM size.
                bank = amd_parse.parse_kfd_properties(
                    system.read_text(f"{base}/{n}/mem_banks/0/properties") or ""
                )
                size = bank.get("size_in_bytes") or _drm_vram(system, gpu.location_id)
                if size:
                    gpu = amd_parse.AmdGpu(**{**gpu.__dict__, "vram_bytes": size})
            out.append(_amd_from(gpu, len(out), "kfd topology"))
        return out
    return []


def _drm_vram(system: SystemView, location_id: int | None) -> int | None:
    """VRAM of the /sys/class/drm card on the same PCI slot as a KFD node."""
    if location_id is None:
        return None
    for card in system.listdir("/sys/class/drm"):
        if not re.fullmatch(r"card[0-9]+", card):
            continue
        dev = f"/sys/class/drm/{card}/device"
        if amd_parse.pci_slot_location(system.read_text(f"{dev}/uevent") or "") == location_id:
            vram = (system.read_text(f"{dev}/mem_info_vram_total") or "").strip()
            return int(vram) if vram.isascii() and vram.isdigit() else None
    return None


def _pci_gpus(system: SystemView) -> list[GpuDevice]:
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


def _rocm_version(system: SystemView, env: dict[str, str]) -> tuple[str | None, str | None]:
    roots = [env[k] for k in ("ROCM_PATH", "HIP_PATH") if env.get(k)]
    roots.append("/opt/rocm")
    roots.extend(sorted(system.glob("/opt/rocm-*"), reverse=True))
    for root in roots:
        for rel in (".info/version", ".info/version-dev", "core/.info/version"):
            text = system.read_text(f"{root}/{rel}")
            version = amd_parse.parse_rocm_version_file(text or "")
            if version:
                return version, f"{root}/{rel}"
        for rel in ("include/rocm-core/rocm_version.h", "include/rocm_version.h"):
            version = amd_parse.parse_rocm_version_header(system.read_text(f"{root}/{rel}") or "")
            if version:
                return version, f"{root}/{rel}"
    for root in roots:
        m = re.search(r"rocm-([0-9]+\.[0-9]+(?:\.[0-9]+)?)$", system.realpath(root))
        if m:
            return m.group(1), f"{root} (directory name)"
    return None, None


def _meminfo(system: SystemView) -> int | None:
    m = re.search(r"^MemTotal:\s+([0-9]+)\s*kB", system.read_text("/proc/meminfo") or "", re.MULTILINE)
    return int(m.group(1)) * 1024 if m else None


def _probe_amd(system: SystemView, facts: PlatformFacts, notes: list[str], errors: list[str]) -> None:
    gpus = _kfd_gpus(system)
    pci_amd = [g for g in _pci_gpus(system) if g.vendor == "amd"]
    if not gpus and (pci_amd or system.node_access("/dev/kfd").exists):
        # No KFD topology (no amdgpu KFD, or a container without /sys): ask the tools.
        info = system.run("rocminfo")
        if info.unavailable:
            notes.append(f"rocminfo: not available: {info.unavailable}")
        else:
            parsed = amd_parse.parse_rocminfo(info.stdout)
            gpus = [_amd_from(g, i, "rocminfo") for i, g in enumerate(parsed.gpus)]
            facts.amdgpu_driver = facts.amdgpu_driver or parsed.driver_version
            if parsed.error:
                errors.append(f"rocminfo: {parsed.error}")
        for key, parser in (
            ("amd-smi", amd_parse.parse_amd_smi_static),
            ("rocm-smi", amd_parse.parse_rocm_smi_product),
        ):
            if gpus:
                break
            res = system.run(key)
            if res.unavailable:
                notes.append(f"{key}: not available: {res.unavailable}")
                continue
            gpus = [_amd_from(g, i, key) for i, g in enumerate(parser(res.stdout))]
        if not gpus:
            gpus = pci_amd
    facts.gpus = (*facts.gpus, *gpus)
    rocm, source = _rocm_version(system, system.env())
    if rocm is None and gpus:
        res = system.run("amd-smi-version")
        if res.unavailable is None:
            rocm, drv = amd_parse.parse_amd_smi_version(res.stdout)
            source = "amd-smi version" if rocm else None
            facts.amdgpu_driver = facts.amdgpu_driver or drv
    facts.rocm_version, facts.rocm_source = rocm, source
    drv_text = (system.read_text("/sys/module/amdgpu/version") or "").strip()
    if drv_text:
        facts.amdgpu_driver = facts.amdgpu_driver or drv_text
    if gpus:
        nodes = ["/dev/kfd", *sorted({g.render_node for g in gpus if g.render_node})]
        if len(nodes) == 1:
            nodes.extend(system.glob("/dev/dri/renderD*")[:1])
        facts.device_nodes = tuple(system.node_access(n) for n in nodes)
        facts.user = system.user()


def _probe_nvidia(system: SystemView, facts: PlatformFacts, notes: list[str], errors: list[str]) -> None:
    driver = nvidia_parse.parse_proc_version(system.read_text("/proc/driver/nvidia/version") or "")
    pci = [g for g in _pci_gpus(system) if g.vendor == "nvidia"]
    facts.nvidia_driver = driver
    if driver is None and not pci and not system.listdir("/proc/driver/nvidia/gpus"):
        return
    gpus: list[nvidia_parse.NvidiaGpu] = []
    for key in ("nvidia-smi-query", "nvidia-smi-query-nocap"):
        res = system.run(key)
        if res.unavailable:
            notes.append(f"{key}: not available: {res.unavailable}")
            break
        gpus, err = nvidia_parse.parse_query_csv(res.stdout)
        if gpus:
            break
        if err and "not a valid field" not in err:
            break  # the driver itself failed; a second query would fail the same way
    plain = system.run("nvidia-smi")
    if plain.unavailable is None:
        parsed = nvidia_parse.parse_nvidia_smi(plain.stdout)
        facts.cuda_driver_api = parsed.cuda
        facts.nvidia_driver = facts.nvidia_driver or parsed.driver
        if parsed.error:
            errors.append(parsed.error)
        if not gpus:
            gpus = list(parsed.gpus)
    if gpus:
        devs = [
            GpuDevice(
                vendor="nvidia",
                index=g.index if g.index is not None else i,
                name=g.name,
                arch=g.arch,
                vram_bytes=g.vram_bytes,
                source="nvidia-smi",
            )
            for i, g in enumerate(gpus)
        ]
        facts.nvidia_driver = facts.nvidia_driver or next((g.driver for g in gpus if g.driver), None)
    else:
        devs = pci
    facts.gpus = (*facts.gpus, *devs)


def _probe_nvml(facts: PlatformFacts, notes: list[str]) -> None:
    """NVML through its Python binding, when importable (live system only)."""
    try:
        import pynvml
    except ImportError:
        return
    try:
        pynvml.nvmlInit()
        try:
            cuda = pynvml.nvmlSystemGetCudaDriverVersion()
            facts.cuda_driver_api = facts.cuda_driver_api or f"{cuda // 1000}.{(cuda % 1000) // 10}"
            drv = pynvml.nvmlSystemGetDriverVersion()
            facts.nvidia_driver = facts.nvidia_driver or (drv.decode() if isinstance(drv, bytes) else drv)
        finally:
            pynvml.nvmlShutdown()
    except Exception as exc:  # NVMLError subclasses; a broken driver must not sink the doctor
        notes.append(f"NVML: not available: {exc}")


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
    _probe_amd(system, facts, notes, errors)
    _probe_nvidia(system, facts, notes, errors)
    if use_nvml and facts.gpus_of("nvidia"):
        _probe_nvml(facts, notes)
    facts.ram_bytes = _meminfo(system)
    facts.hsa_override = system.env().get("HSA_OVERRIDE_GFX_VERSION")
    facts.torch = probe_torch_build(system, site_dirs)
    if deep_python and facts.torch.version:
        facts.deep = run_deep(deep_python)
        if facts.deep.arch_list:
            facts.torch = TorchBuild(
                **{**facts.torch.__dict__, "arch_list": facts.deep.arch_list, "arch_source": "--deep"}
            )
    if not facts.gpus:
        notes.append("GPU: none found (no KFD topology, no NVIDIA driver, no display-class PCI device)")
    facts.unavailable = tuple(notes)
    facts.driver_errors = tuple(errors)
    return facts
