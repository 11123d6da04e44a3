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
from typing import Any

from gator_setup.probes import amd_parse, collect_env, nvidia_parse
from gator_setup.probes.system import COMMANDS, NodeAccess, SystemView, UserInfo
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
    #: "Linux", or "WSL2" (GPUs reached through /dev/dxg, the driver lives on Windows).
    platform: str = "Linux"
    #: Which source gave each fact ("nvidia_driver": "nvidia-smi", "platform": "/proc/version"...).
    sources: dict[str, str] = field(default_factory=dict)
    #: What rocminfo said about who it ran as, when it could not open /dev/kfd.
    kfd_user: str | None = None
    kfd_group: str | None = None
    #: The uid had no user name: typical of a container started with `-u UID`.
    nameless_user: bool = False
    #: "docker" or "podman" when gator (or the replayed machine) runs in a container.
    container: str | None = None

    @property
    def in_container(self) -> bool:
        return self.container is not None or self.nameless_user

    @property
    def wsl(self) -> bool:
        return self.platform.startswith("WSL")

    def learn(self, fact: str, value: str | None, source: str) -> None:
        """Set a fact once, from the first source that knows it, and remember that source."""
        if value and getattr(self, fact) is None:
            setattr(self, fact, value)
            self.sources[fact] = source

    @property
    def vendors(self) -> set[str]:
        return {g.vendor for g in self.gpus}

    def gpus_of(self, vendor: str) -> list[GpuDevice]:
        return [g for g in self.gpus if g.vendor == vendor]


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


AMD_TOOLS = ("rocminfo", "amd-smi", "rocm-smi", "rocm-agent-enumerator")
NVIDIA_TOOLS = ("nvidia-smi-query", "nvidia-smi-query-nocap", "nvidia-smi", "nvidia-smi-q", "nvidia-smi-L")
_AMD_PARSERS = {"amd-smi": amd_parse.parse_amd_smi_static, "rocm-smi": amd_parse.parse_rocm_smi_product}
_AMD_DRIVER = {"amd-smi": amd_parse.parse_amd_smi_driver, "rocm-smi": amd_parse.parse_rocm_smi_driver}


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


def _merge(first: list[GpuDevice], more: list[GpuDevice]) -> list[GpuDevice]:
    """Fill what one tool left unknown from another that listed the same GPUs (same count, same order)."""
    if len(first) != len(more):
        return first
    out = []
    for a, b in zip(first, more, strict=True):
        fill = {
            k: getattr(b, k)
            for k in ("name", "arch", "device_id", "vram_bytes", "compute_units")
            if getattr(a, k) is None and getattr(b, k) is not None
        }
        if fill:
            a = GpuDevice(**{**a.__dict__, **fill, "source": f"{a.source} + {b.source}"})
        out.append(a)
    return out


def _rocminfo(
    system: SystemView, facts: PlatformFacts, notes: list[str], errors: list[str]
) -> list[GpuDevice]:
    info = system.run("rocminfo")
    if info.unavailable:
        notes.append(f"rocminfo: not available: {info.unavailable}")
        return []
    parsed = amd_parse.parse_rocminfo(info.stdout)
    facts.learn("amdgpu_driver", parsed.driver_version, "rocminfo")
    facts.kfd_user, facts.kfd_group = parsed.user, parsed.group
    facts.nameless_user = parsed.no_user_name
    reason = (parsed.kfd_error or "").lower()
    if "permission denied" in reason:
        # EACCES: the node is there and its mode/group keep this user out (GTR205's business).
        node = system.node_access("/dev/kfd")
        facts.device_nodes = (
            NodeAccess(
                "/dev/kfd",
                exists=True,
                readable_writable=False,
                group=node.group if node.exists else None,
                mode=node.mode if node.exists else None,
                source="rocminfo: Permission denied",
            ),
        )
    elif "no such file" in reason:
        facts.device_nodes = (NodeAccess("/dev/kfd", exists=False, source="rocminfo: No such file"),)
    elif parsed.error:
        errors.append(f"rocminfo: {parsed.error}")
    return [_amd_from(g, i, "rocminfo") for i, g in enumerate(parsed.gpus)]


def _amd_tools(
    system: SystemView, facts: PlatformFacts, notes: list[str], errors: list[str]
) -> list[GpuDevice]:
    """GPUs from rocminfo, with amd-smi / rocm-smi filling in (or standing in when rocminfo failed)."""
    gpus = _rocminfo(system, facts, notes, errors)
    for key in ("amd-smi", "rocm-smi"):
        if gpus and all(g.name and g.arch for g in gpus) and facts.amdgpu_driver:
            break
        if not system.has_command(key):
            if not gpus:
                where = "not installed" if system.root == "/" else "not recorded in the replay"
                notes.append(f"{key}: not available: {where}")
            continue
        res = system.run(key)
        if res.unavailable:
            notes.append(f"{key}: not available: {res.unavailable}")
            continue
        facts.learn("amdgpu_driver", _AMD_DRIVER[key](res.stdout), key)
        found = [_amd_from(g, i, key) for i, g in enumerate(_AMD_PARSERS[key](res.stdout))]
        gpus = _merge(gpus, found) if gpus else found
    if (not gpus or any(g.arch is None for g in gpus)) and system.has_command("rocm-agent-enumerator"):
        res = system.run("rocm-agent-enumerator")
        if res.unavailable is None:
            found = [
                _amd_from(g, i, "rocm_agent_enumerator")
                for i, g in enumerate(amd_parse.parse_agent_enumerator(res.stdout))
            ]
            gpus = _merge(gpus, found) if gpus else found
    return gpus


def _probe_amd(system: SystemView, facts: PlatformFacts, notes: list[str], errors: list[str]) -> None:
    gpus = _kfd_gpus(system)
    pci_amd = [g for g in _pci_gpus(system) if g.vendor == "amd"]
    kfd_seen = system.node_access("/dev/kfd").exists
    # Files first; the tools only when the files are silent and something suggests an AMD GPU
    # (a PCI device, a KFD node, or an installed ROCm tool: containers without /sys, WSL, pastes).
    if not gpus and (pci_amd or kfd_seen or any(system.has_command(k) for k in AMD_TOOLS)):
        gpus = _amd_tools(system, facts, notes, errors) or pci_amd
    facts.gpus = (*facts.gpus, *gpus)
    rocm, source = _rocm_version(system, system.env())
    if rocm is None and gpus and system.has_command("amd-smi-version"):
        res = system.run("amd-smi-version")
        if res.unavailable is None:
            rocm, drv = amd_parse.parse_amd_smi_version(res.stdout)
            source = "amd-smi version" if rocm else None
            facts.learn("amdgpu_driver", drv, "amd-smi version")
    facts.rocm_version, facts.rocm_source = rocm, source
    if rocm and source:
        facts.sources["rocm_version"] = source
    drv_text = (system.read_text("/sys/module/amdgpu/version") or "").strip()
    facts.learn("amdgpu_driver", drv_text, "/sys/module/amdgpu/version")
    if gpus and not facts.device_nodes and not facts.wsl:
        # WSL has no /dev/kfd: ROCm there goes through /dev/dxg, so KFD access is not a question.
        nodes = ["/dev/kfd", *sorted({g.render_node for g in gpus if g.render_node})]
        if len(nodes) == 1:
            nodes.extend(system.glob("/dev/dri/renderD*")[:1])
        facts.device_nodes = tuple(system.node_access(n) for n in nodes)
    if facts.device_nodes:
        facts.user = system.user()


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


def _probe_nvidia(system: SystemView, facts: PlatformFacts, notes: list[str], errors: list[str]) -> None:
    driver = nvidia_parse.parse_proc_version(system.read_text("/proc/driver/nvidia/version") or "")
    facts.learn("nvidia_driver", driver, "/proc/driver/nvidia/version")
    pci = [g for g in _pci_gpus(system) if g.vendor == "nvidia"]
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
            facts.learn("cuda_driver_api", f"{cuda // 1000}.{(cuda % 1000) // 10}", "NVML")
            drv = pynvml.nvmlSystemGetDriverVersion()
            facts.learn("nvidia_driver", drv.decode() if isinstance(drv, bytes) else drv, "NVML")
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
    facts.platform, where = detect_platform(system)
    if where:
        facts.sources["platform"] = where
    facts.container, marker = detect_container(system)
    if marker:
        facts.sources["container"] = marker
    _probe_amd(system, facts, notes, errors)
    _probe_nvidia(system, facts, notes, errors)
    _probe_collect_env(system, facts)
    if use_nvml and facts.gpus_of("nvidia"):
        _probe_nvml(facts, notes)
    facts.ram_bytes = _meminfo(system)
    facts.hsa_override = system.env().get("HSA_OVERRIDE_GFX_VERSION")
    facts.torch = probe_torch_build(system, site_dirs)
    if not facts.torch.version and system.has_command("collect-env"):
        facts.torch = collect_env.torch_build(system.run("collect-env").stdout) or facts.torch
    if deep_python and facts.torch.version:
        facts.deep = run_deep(deep_python)
        if facts.deep.arch_list:
            facts.torch = TorchBuild(
                **{**facts.torch.__dict__, "arch_list": facts.deep.arch_list, "arch_source": "--deep"}
            )
    if not facts.gpus:
        notes.append(
            "GPU: none found (no KFD topology, no NVIDIA driver, no display-class PCI device, "
            "no GPU tool that answered)"
        )
    facts.unavailable = tuple(notes)
    facts.driver_errors = tuple(errors)
    return facts
