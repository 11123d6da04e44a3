"""The platform facts the GPU probes fill and the checks read: GpuDevice and PlatformFacts."""

from __future__ import annotations

from dataclasses import dataclass, field

from gator_setup.probes.system import NodeAccess, UserInfo
from gator_setup.probes.torch_build import DeepTorch, TorchBuild


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
