"""GTR200-GTR208: GPU platform vs the installed torch build (pure functions of PlatformFacts)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

from packaging.version import InvalidVersion, Version

from gator_setup.checks.base import Check, Finding, NotApplicable, Severity
from gator_setup.probes.amd_parse import hsa_override_for, parse_override
from gator_setup.probes.platform import GpuDevice, PlatformFacts
from gator_setup.snapshot import EnvSnapshot

PYTORCH_INDEX = "https://download.pytorch.org/whl"
#: Minimum Linux driver per CUDA major (NVIDIA's compatibility table, as encoded in astral-sh/uv
#: crates/uv-torch/src/backend.rs): a cu12x wheel needs >= 525.60.13, cu11x >= 450.80.02.
MIN_DRIVER = {12: "525.60.13", 11: "450.80.02"}
#: The same table's Windows column: under WSL2 nvidia-smi reports the Windows driver's version.
MIN_DRIVER_WINDOWS = {12: "527.41", 11: "452.39"}
USERMOD = 'sudo usermod -aG render,video "$USER"'
#: Under WSL2 the GPU driver is the Windows one: a Linux NVIDIA driver inside WSL breaks the
#: /usr/lib/wsl/lib libraries it shadows, so every driver fix points at Windows.
WSL_DRIVER_FIX = (
    "Update the NVIDIA driver on Windows (WSL2 uses the Windows driver; do not install a Linux "
    "NVIDIA driver inside WSL), then run `wsl --shutdown` in Windows and reopen the shell."
)
#: torch < 2.3 wheels are built against NumPy 1.x; 2.3.0 is the first NumPy-2 build. Reproduced:
#: scripts/verify-numpy-abi.sh (torch 2.2.0/2.2.2 + numpy 2.0.2 -> "Numpy is not available"; 2.3.0 works).
FIRST_NUMPY2_TORCH = Version("2.3.0")


def _v(text: str | None) -> Version | None:
    if not text:
        return None
    m = re.match(r"[0-9]+(?:\.[0-9]+)*", text)
    try:
        return Version(m.group(0)) if m else None
    except InvalidVersion:
        return None


def torch_install_hint(env: EnvSnapshot, vendor: str) -> str:
    """The command that installs a torch build for `vendor` (the profile's exact one when it matches)."""
    prof = env.profile
    if prof is not None and prof.platform == vendor:
        args = prof.torch_install_args()
        if args:
            return "pip " + " ".join(args)
    facts = env.platform
    if vendor == "amd":
        rocm = facts.rocm_version if facts else None
        mm = ".".join(rocm.split(".")[:2]) if rocm else "X.Y"
        return f"pip install --force-reinstall torch --index-url {PYTORCH_INDEX}/rocm{mm}"
    if vendor == "nvidia":
        drv = _v(facts.nvidia_driver if facts else None)
        table = MIN_DRIVER_WINDOWS if facts and facts.wsl else MIN_DRIVER
        tag = "cu121" if drv is None or drv >= Version(table[12]) else "cu118"
        return f"pip install --force-reinstall torch --index-url {PYTORCH_INDEX}/{tag}"
    return f"pip install --force-reinstall torch --index-url {PYTORCH_INDEX}/cpu"


class _PlatformCheck(Check):
    category: ClassVar[str] = "platform"
    needs: ClassVar[frozenset[str]] = frozenset({"platform"})

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        if env.platform is None:
            return []
        return list(self.check(env, env.platform))

    def check(self, env: EnvSnapshot, facts: PlatformFacts) -> Iterable[Finding]:
        raise NotImplementedError


class GpuInventory(_PlatformCheck):
    """Say which GPUs were found (or plainly that none were), and driver-level failures."""

    code: ClassVar[str] = "GTR200"
    title: ClassVar[str] = "GPUs and drivers are detected"

    def check(self, env: EnvSnapshot, facts: PlatformFacts) -> Iterable[Finding]:
        evidence = {f"source of {k}": v for k, v in sorted(facts.sources.items())}
        evidence.update({f"probe {i}": n for i, n in enumerate(facts.unavailable)})
        where = f" under {facts.platform} (the driver is the Windows one)" if facts.wsl else ""
        if not facts.gpus:
            yield self.finding(
                Severity.INFO,
                f"No GPU found{where}: torch will run on the CPU. The other checks still ran.",
                # WSL2 gets its GPU from the Windows driver, which also installs /usr/lib/wsl/lib.
                fix="If this PC has an NVIDIA GPU, install the current NVIDIA driver on Windows; it "
                "provides nvidia-smi and libcuda in /usr/lib/wsl/lib."
                if facts.wsl
                else None,
                evidence=evidence,
            )
        else:
            # Eight identical cards read as "8 x ...", not eight times the same text.
            labels = [
                f"{'' if g.label.upper().startswith(g.vendor.upper()) else g.vendor.upper() + ' '}"
                f"{g.label} [{g.source}]"
                for g in facts.gpus
            ]
            counts = {label: labels.count(label) for label in labels}
            listing = "; ".join(f"{n} x {label}" if n > 1 else label for label, n in counts.items())
            extra = []
            if facts.rocm_version:
                extra.append(f"ROCm {facts.rocm_version}")
            if facts.amdgpu_driver and facts.gpus_of("amd"):
                extra.append(f"amdgpu {facts.amdgpu_driver}")
            if facts.nvidia_driver:
                extra.append(f"NVIDIA driver {facts.nvidia_driver}")
            if facts.cuda_driver_api:
                extra.append(f"CUDA {facts.cuda_driver_api} (driver API)")
            if facts.wsl:
                extra.append(facts.platform)
            if facts.container:
                extra.append(f"in a {facts.container} container")
            suffix = f" · {', '.join(extra)}" if extra else ""
            yield self.finding(
                Severity.INFO, f"{len(facts.gpus)} GPU(s): {listing}{suffix}", evidence=evidence
            )
        for err in facts.driver_errors:
            nvidia = "NVML" in err or "NVIDIA driver" in err
            if nvidia and facts.wsl:
                fix = WSL_DRIVER_FIX
            elif "version mismatch" in err:
                fix = "NVIDIA user-space libraries were upgraded but the old kernel module is loaded: reboot."
            elif "NVIDIA driver" in err:
                fix = "Load the NVIDIA kernel module (sudo modprobe nvidia) or reinstall the driver."
            elif "Cannot allocate memory" in err:
                fix = "This GPU is not supported by the amdgpu KFD (see `sudo dmesg | grep kfd`)."
            elif "Invalid argument" in err:
                fix = (
                    "The amdgpu kernel driver refused /dev/kfd: the GPU is not supported by KFD, or the "
                    "kernel driver does not match this ROCm (in a container, the host's amdgpu must "
                    "support the image's ROCm); see `sudo dmesg | grep -i kfd`."
                )
            elif "Operation not permitted" in err:
                fix = (
                    "The kernel refused /dev/kfd (a container's device cgroup, or a failed amdgpu DKMS "
                    "build): run the container with --device=/dev/kfd --device=/dev/dri, or reinstall "
                    "the driver and check `sudo dmesg | grep kfd`."
                )
            else:
                fix = "Check the driver installation (dmesg) and device access (GTR205)."
            yield self.finding(Severity.ERROR, err, fix=fix)


class TorchBuildMatchesGpu(_PlatformCheck):
    """A GPU is present but the torch wheel targets another vendor or only the CPU."""

    code: ClassVar[str] = "GTR201"
    title: ClassVar[str] = "torch build matches the GPU vendor"

    def check(self, env: EnvSnapshot, facts: PlatformFacts) -> Iterable[Finding]:
        tb = facts.torch
        if not tb.version:
            raise NotApplicable("torch is not installed")
        want = {"amd": "rocm", "nvidia": "cuda"}
        for vendor in ("amd", "nvidia"):
            gpus = facts.gpus_of(vendor)
            if not gpus or tb.kind in (want[vendor], "unknown"):
                continue
            if vendor == "nvidia" and "amd" in facts.vendors and tb.kind == "rocm":
                continue  # mixed box, ROCm wheel serves the AMD card
            if vendor == "amd" and "nvidia" in facts.vendors and tb.kind == "cuda":
                continue
            what = "a CPU-only build" if tb.kind == "cpu" else f"a {tb.kind.upper()} build"
            yield self.finding(
                Severity.ERROR,
                f"{vendor.upper()} GPU {gpus[0].label} found but {tb.label} is installed: {what}, "
                f"so torch will not see the GPU.",
                fix=torch_install_hint(env, vendor),
                packages=("torch",),
                evidence={"torch version.py": f"{tb.location}/version.py", "local tag": tb.local or "none"},
            )


def _family_fallback(arch: str, compiled: tuple[str, ...]) -> str | None:
    """A compiled ISA of the same major.minor family (gfx1031 -> gfx1030, gfx1103 -> gfx1100)."""
    m = re.fullmatch(r"gfx([0-9]{1,2})([0-9a-f])([0-9a-f])", arch)
    if not m:
        return None
    same = [a for a in compiled if re.fullmatch(rf"gfx{m.group(1)}{m.group(2)}[0-9a-f]", a)]
    return min(same) if same else None


def _sm(arch: str, prefix: str = "sm_") -> tuple[int, int] | None:
    m = re.fullmatch(rf"{prefix}([0-9]{{1,2}})([0-9])[a-z]?", arch)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _cuda_runs_on(arch: str, compiled: tuple[str, ...]) -> bool:
    """CUDA binary compatibility: sm_XY code runs on sm_XZ for Z >= Y; compute_XY PTX JITs on >= XY."""
    dev = _sm(arch)
    if dev is None:
        return True  # unknown capability: do not guess
    for a in compiled:
        sass, ptx = _sm(a), _sm(a, "compute_")
        if sass and sass[0] == dev[0] and sass[1] <= dev[1]:
            return True
        if ptx and ptx <= dev:
            return True
    return False


class ArchInWheel(_PlatformCheck):
    """The GPU's ISA must be in the wheel's compiled arch list (else: invalid device function)."""

    code: ClassVar[str] = "GTR202"
    title: ClassVar[str] = "GPU architecture is compiled into the torch wheel"

    def check(self, env: EnvSnapshot, facts: PlatformFacts) -> Iterable[Finding]:
        tb = facts.torch
        vendor = {"rocm": "amd", "cuda": "nvidia"}.get(tb.kind)
        if vendor is None:
            raise NotApplicable("no ROCm or CUDA build of torch is installed")
        gpus = [g for g in facts.gpus_of(vendor) if g.arch]
        override = facts.hsa_override
        if vendor == "amd" and override:
            yield from self._override(facts, gpus, override)
        if not gpus:
            return
        if not tb.arch_list:
            yield self.finding(
                Severity.INFO,
                f"The compiled arch list of {tb.label} is unknown (no per-arch kernel files found); "
                f"GPU arch {', '.join(sorted({g.arch or '' for g in gpus}))} not verified.",
                fix="Run `gator doctor --deep` to import torch and read torch.cuda.get_arch_list().",
            )
            return
        for g in gpus:
            arch = g.arch or ""
            if vendor == "nvidia":
                if _cuda_runs_on(arch, tb.arch_list):
                    continue
            elif arch in tb.arch_list:
                continue
            if vendor == "amd" and override and parse_override(override) in tb.arch_list:
                continue
            fallback = _family_fallback(arch, tb.arch_list) if vendor == "amd" else None
            if fallback:
                fix = (
                    f"Known workaround: export HSA_OVERRIDE_GFX_VERSION={hsa_override_for(fallback)} "
                    f"(runs the {fallback} kernels on {arch}). Risks: page faults or hangs when the ISAs "
                    "differ, wrong results on some RDNA parts, and it applies to every GPU in the box. "
                    "Safer: a wheel or build that includes " + arch + "."
                )
            else:
                fix = f"Install a torch build compiled for {arch} (or build from source with that arch)."
            yield self.finding(
                Severity.ERROR,
                f"GPU {g.label} needs {arch} but {tb.label} was compiled for "
                f"{', '.join(tb.arch_list)}: kernels fail with 'invalid device function' / "
                "'no kernel image is available'.",
                fix=fix,
                packages=("torch",),
                evidence={"arch list source": tb.arch_source or "unknown"},
            )

    def _override(self, facts: PlatformFacts, gpus: list[GpuDevice], override: str) -> Iterable[Finding]:
        forced = parse_override(override)
        if forced is None:
            yield self.finding(
                Severity.ERROR,
                f"HSA_OVERRIDE_GFX_VERSION={override!r} is not a major.minor.stepping version.",
                fix="Unset it, or use the form 10.3.0.",
            )
            return
        for g in gpus:
            if g.arch == forced or (facts.torch.arch_list and g.arch in facts.torch.arch_list):
                yield self.finding(
                    Severity.WARNING,
                    f"HSA_OVERRIDE_GFX_VERSION={override} is set but {g.label} is already supported "
                    "natively by this wheel.",
                    fix="unset HSA_OVERRIDE_GFX_VERSION (newer ROCr refuses needless overrides).",
                )
            elif g.arch and forced[:4] != g.arch[:4] and forced[:5] != g.arch[:5]:
                yield self.finding(
                    Severity.ERROR,
                    f"HSA_OVERRIDE_GFX_VERSION={override} forces {forced} on {g.label}, a different "
                    "GPU generation: expect page faults or hangs.",
                    fix="unset HSA_OVERRIDE_GFX_VERSION, or set it to a version of the same family.",
                )


class RocmUserSpace(_PlatformCheck):
    """The system ROCm release vs the one the torch wheel bundles."""

    code: ClassVar[str] = "GTR203"
    title: ClassVar[str] = "System ROCm matches the torch wheel's ROCm"

    def check(self, env: EnvSnapshot, facts: PlatformFacts) -> Iterable[Finding]:
        tb = facts.torch
        if not facts.gpus_of("amd"):
            raise NotApplicable("no AMD GPU found")
        if tb.kind != "rocm":
            raise NotApplicable("no ROCm build of torch is installed")
        wheel = tb.rocm_version
        if facts.rocm_version is None:
            yield self.finding(
                Severity.INFO,
                f"No system ROCm found (/opt/rocm*/.info/version); {tb.label} bundles its own ROCm "
                "libraries, so only the amdgpu kernel driver matters.",
            )
            return
        sys_mm = ".".join(facts.rocm_version.split(".")[:2])
        if wheel and sys_mm != wheel:
            yield self.finding(
                Severity.WARNING,
                f"System ROCm is {facts.rocm_version} but {tb.label} was built for ROCm {wheel}; "
                "the wheel uses its bundled libraries, but the amdgpu driver/KFD must support them.",
                fix=torch_install_hint(env, "amd")
                if env.profile is None
                else f"Use the profile's stack: gator fix --profile {env.profile.name}",
                evidence={"system ROCm source": facts.rocm_source or "?"},
            )


class CudaDriverAge(_PlatformCheck):
    """The NVIDIA driver must support the CUDA runtime the torch wheel was built with."""

    code: ClassVar[str] = "GTR204"
    title: ClassVar[str] = "NVIDIA driver supports the wheel's CUDA runtime"

    def check(self, env: EnvSnapshot, facts: PlatformFacts) -> Iterable[Finding]:
        tb = facts.torch
        if not facts.gpus_of("nvidia"):
            raise NotApplicable("no NVIDIA GPU found")
        if tb.kind != "cuda" or not tb.cuda:
            raise NotApplicable("no CUDA build of torch is installed")
        wheel = _v(tb.cuda)
        api = _v(facts.cuda_driver_api)
        drv = _v(facts.nvidia_driver)
        need = (MIN_DRIVER_WINDOWS if facts.wsl else MIN_DRIVER).get(wheel.major) if wheel else None
        too_old = (api is not None and wheel is not None and api < wheel) or (
            api is None and drv is not None and need is not None and drv < Version(need)
        )
        if too_old:
            yield self.finding(
                Severity.ERROR,
                f"NVIDIA driver {facts.nvidia_driver or '?'} (CUDA {facts.cuda_driver_api or '?'}) is too "
                f"old for {tb.label}: torch reports 'The NVIDIA driver on your system is too old'.",
                fix=(
                    WSL_DRIVER_FIX + " Or install"
                    if facts.wsl
                    else f"Upgrade the driver to >= {need or 'a release for CUDA ' + tb.cuda}, or install"
                )
                + f" a wheel for an older CUDA: pip install --force-reinstall torch --index-url "
                f"{PYTORCH_INDEX}/cu118",
                packages=("torch",),
            )


class DeviceAccess(_PlatformCheck):
    """The user must be able to open /dev/kfd and the GPU's /dev/dri/renderD* read-write."""

    code: ClassVar[str] = "GTR205"
    title: ClassVar[str] = "User can open the GPU device nodes"

    def check(self, env: EnvSnapshot, facts: PlatformFacts) -> Iterable[Finding]:
        if not facts.gpus_of("amd") and not facts.device_nodes:
            raise NotApplicable("no AMD GPU found")
        if facts.wsl:
            raise NotApplicable(f"{facts.platform} reaches the GPU through /dev/dxg, not /dev/kfd")
        if not any(n.known for n in facts.device_nodes):
            raise NotApplicable("nothing recorded whether /dev/kfd exists or who may open it")
        container = (
            "; in a container pass --device=/dev/kfd --device=/dev/dri --group-add render "
            "--group-add video (by number if the image lacks those group names)"
        )
        kfd = next((n for n in facts.device_nodes if n.path == "/dev/kfd"), None)
        if kfd is not None and kfd.known and not kfd.exists:
            yield self.finding(
                Severity.ERROR,
                "/dev/kfd does not exist: the amdgpu kernel driver has no compute (KFD) support loaded"
                + (", or the container was started without the device." if facts.in_container else "."),
                fix="Load amdgpu (sudo modprobe amdgpu) or install the ROCm kernel driver" + container + ".",
                evidence={"told by": kfd.source},
            )
        denied = [n for n in facts.device_nodes if n.exists and not n.readable_writable]
        if not denied:
            return
        user = facts.user
        groups = sorted({n.group for n in denied if n.group})
        paths = ", ".join(f"{n.path} ({n.group or '?'} {n.mode or ''})".replace(" )", ")") for n in denied)
        paths = paths.replace(" (?)", "")
        name = facts.kfd_user or (user.name if user and user.name != "user" else None) or "this user"
        told = [n.source for n in denied if n.source.startswith("rocminfo")]
        why = f" ({told[0].removeprefix('rocminfo: ')}, said rocminfo)" if told else ""
        if told and not groups and user and user.groups and "render" not in user.groups:
            why += f"; the user's groups ({', '.join(user.groups)}) lack render"
        if user and groups and all(g in user.login_groups for g in groups) and not told:
            fix = (
                f"{name} is in {', '.join(groups)} in /etc/group but not in this session: log out and "
                "back in (or run `newgrp render`)."
            )
        else:
            # rocminfo names the DRM group it checked ("video", or "nogroup" in some images); the
            # node's own group is what the kernel checks, and current distros make it render.
            need = sorted({"render", "video", *groups})
            cmd = USERMOD if need == ["render", "video"] else f'sudo usermod -aG {",".join(need)} "$USER"'
            # A shell comment keeps the line copy-pasteable.
            fix = f"{cmd}  # then log out and back in (or run `newgrp render` in one shell)"
            if facts.in_container or facts.kfd_group == "nogroup":
                fix += container
        evidence = {"groups": ", ".join(user.groups) if user and user.groups else "?"}
        if facts.kfd_group:
            evidence["rocminfo checked group"] = facts.kfd_group
        yield self.finding(
            Severity.ERROR,
            f"{name} cannot open {paths}{why}: torch will see no GPU.",
            fix=fix,
            evidence=evidence,
        )


class MemoryFits(_PlatformCheck):
    """VRAM and system RAM against what the selected profile says the stack needs."""

    code: ClassVar[str] = "GTR206"
    title: ClassVar[str] = "VRAM and system RAM meet the stack's needs"

    def check(self, env: EnvSnapshot, facts: PlatformFacts) -> Iterable[Finding]:
        prof = env.profile
        if prof is None:
            raise NotApplicable("no profile selected: the needs come from --profile NAME")
        gib = 1024**3
        if prof.min_ram_gb and facts.ram_bytes and facts.ram_bytes < prof.min_ram_gb * gib:
            yield self.finding(
                Severity.WARNING,
                f"System RAM is {facts.ram_bytes / gib:.1f} GiB; profile {prof.name} needs "
                f"{prof.min_ram_gb:g} GiB (model loading peaks in RAM before moving to the GPU).",
                fix="Add swap or RAM, or load models with low_cpu_mem_usage=True.",
            )
        gpus = facts.gpus_of(prof.platform)
        vram = max((g.vram_bytes or 0 for g in gpus), default=0)
        if prof.min_vram_gb and vram and vram < prof.min_vram_gb * gib:
            yield self.finding(
                Severity.WARNING,
                f"Largest GPU has {vram / gib:.1f} GiB VRAM; profile {prof.name} needs "
                f"{prof.min_vram_gb:g} GiB.",
                fix="Use enable_model_cpu_offload() / fp16 weights, or a smaller model.",
            )


class NumpyAbi(_PlatformCheck):
    """torch < 2.3 wheels are compiled against NumPy 1.x and lose the numpy bridge under NumPy 2."""

    code: ClassVar[str] = "GTR207"
    title: ClassVar[str] = "numpy ABI matches the torch build"
    category: ClassVar[str] = "torch"

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        torch_v, numpy_v = env.version_of("torch"), env.version_of("numpy")
        if torch_v is None or numpy_v is None:
            raise NotApplicable("torch or numpy is not installed")
        if torch_v.release < FIRST_NUMPY2_TORCH.release and numpy_v.major >= 2:
            prof = env.profile
            where = f"-c {prof.constraints_arg} " if prof is not None else ""
            fix = f'pip install {where}"numpy<2"'
            return [
                self.finding(
                    Severity.ERROR,
                    f"torch {torch_v} was built against NumPy 1.x but numpy {numpy_v} is installed: "
                    "'_ARRAY_API not found' at import, then 'RuntimeError: Numpy is not available'.",
                    fix=fix,
                    packages=("numpy", "torch"),
                    evidence={"cause": "numpy-abi:torch"},  # grouped with GTR103/GTR110 (core/causes.py)
                )
            ]
        return []


class DeepTorchProbe(_PlatformCheck):
    """What importing torch showed (only with --deep)."""

    code: ClassVar[str] = "GTR208"
    title: ClassVar[str] = "torch imports and runs a tensor op on the GPU (--deep)"
    category: ClassVar[str] = "torch"

    def check(self, env: EnvSnapshot, facts: PlatformFacts) -> Iterable[Finding]:
        deep = facts.deep
        if deep is None:
            raise NotApplicable("run with --deep to import torch")
        if not deep.ok:
            yield self.finding(
                Severity.ERROR,
                f"Importing torch in the target interpreter failed: {deep.error}",
                fix="See the other findings (wheel kind, arch list, numpy); run with AMD_LOG_LEVEL=1 for "
                "the missing code object on ROCm.",
            )
            return
        gpu_build = facts.torch.kind in ("rocm", "cuda")
        if facts.gpus and gpu_build and deep.device_count == 0:
            yield self.finding(
                Severity.ERROR,
                f"{facts.torch.label} imports but sees 0 GPUs although {len(facts.gpus)} were found.",
                fix="Check device access (GTR205) and driver errors (GTR200).",
            )
        else:
            yield self.finding(
                Severity.INFO,
                f"torch sees {', '.join(deep.devices) or 'no GPU'}; {deep.tensor_op}",
            )


CHECKS: tuple[type[Check], ...] = (
    GpuInventory,
    TorchBuildMatchesGpu,
    ArchInWheel,
    RocmUserSpace,
    CudaDriverAge,
    DeviceAccess,
    MemoryFits,
    NumpyAbi,
    DeepTorchProbe,
)
