"""AMD GPUs: KFD topology first; rocminfo, amd-smi, rocm-smi and rocm_agent_enumerator only when the
files are silent and something suggests an AMD GPU. Also the ROCm user-space version and the
device nodes the user must be able to open."""

from __future__ import annotations

import re

from gator_setup.probes import amd_parse
from gator_setup.probes.gpu_facts import GpuDevice, PlatformFacts
from gator_setup.probes.gpu_ids import device_table
from gator_setup.probes.pci import pci_gpus
from gator_setup.probes.system import NodeAccess, SystemView

KFD_NODES = ("/sys/class/kfd/kfd/topology/nodes", "/sys/devices/virtual/kfd/kfd/topology/nodes")
AMD_TOOLS = ("rocminfo", "amd-smi", "rocm-smi", "rocm-agent-enumerator")
_AMD_PARSERS = {"amd-smi": amd_parse.parse_amd_smi_static, "rocm-smi": amd_parse.parse_rocm_smi_product}
_AMD_DRIVER = {"amd-smi": amd_parse.parse_amd_smi_driver, "rocm-smi": amd_parse.parse_rocm_smi_driver}


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
                    gpu = gpu._replace(vram_bytes=size)
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


def probe_amd(system: SystemView, facts: PlatformFacts, notes: list[str], errors: list[str]) -> None:
    gpus = _kfd_gpus(system)
    pci_amd = [g for g in pci_gpus(system) if g.vendor == "amd"]
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
