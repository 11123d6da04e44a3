"""Parsers for AMD platform outputs: KFD properties, rocminfo, amd-smi, rocm-smi, ROCm version files.

Pure text -> data functions (no system access) so they can be fuzzed. Every parser tolerates
padding, CRLF, blank values, pager residue, warnings before JSON, truncation and garbage: the worst
result is "nothing found", never an exception.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

#: PCI vendor ids.
AMD_VENDOR = 0x1002
NVIDIA_VENDOR = 0x10DE

_INT = re.compile(r"^-?[0-9]+$")
_PAGER = re.compile(r"\[[0-9]+/[0-9]+\]")
_GFX = re.compile(r"\bgfx([0-9]{1,2}[0-9a-f]{2,3})\b", re.IGNORECASE)


class AmdGpu(NamedTuple):
    """One AMD GPU as a parser saw it; any field may be unknown."""

    gfx: str | None = None
    name: str | None = None
    device_id: int | None = None
    compute_units: int | None = None
    vram_bytes: int | None = None
    render_minor: int | None = None
    node: int | None = None
    #: PCI location from KFD (bus << 8 | device << 3 | function), to join with /sys/class/drm.
    location_id: int | None = None


def decode_gfx_target_version(value: int | None) -> str | None:
    """KFD `gfx_target_version` (major*10000 + minor*100 + stepping) -> 'gfx900'; None if not a GPU ISA."""
    if value is None or value <= 0:
        return None
    major, minor, step = value // 10000, (value // 100) % 100, value % 100
    # minor and stepping are printed as one hex digit each in ISA names, so >15 cannot be real.
    if not 1 <= major <= 99 or minor > 15 or step > 15:
        return None
    return f"gfx{major}{minor:x}{step:x}"


def hsa_override_for(gfx: str) -> str | None:
    """'gfx1031' -> '10.3.1': the HSA_OVERRIDE_GFX_VERSION spelling of an ISA name."""
    m = re.fullmatch(r"gfx([0-9]{1,2})([0-9a-f])([0-9a-f])", gfx.lower())
    if not m:
        return None
    return f"{int(m.group(1))}.{int(m.group(2), 16)}.{int(m.group(3), 16)}"


def parse_override(value: str) -> str | None:
    """HSA_OVERRIDE_GFX_VERSION '9.0.0' -> 'gfx900' (None when malformed)."""
    m = re.fullmatch(r"\s*([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{1,2})\s*", value)
    if not m:
        return None
    major, minor, step = (int(g) for g in m.groups())
    return decode_gfx_target_version(major * 10000 + minor * 100 + step)


def parse_kfd_properties(text: str) -> dict[str, int | None]:
    """`key value` lines -> dict; non-integer values map to None, comment/garbage lines are skipped.

    The last two whitespace-separated tokens of a line are used, so tool dumps that prefix each
    line (the ROCm Validation Suite prints `[RESULT] [ts] action gpup <id> key value`) parse too.
    """
    out: dict[str, int | None] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 2 or not re.fullmatch(r"[a-z_][a-z0-9_]*", parts[-2]):
            continue
        key, value = parts[-2], parts[-1]
        out.setdefault(key, int(value) if _INT.match(value) else None)
    return out


def gpu_from_kfd(props: dict[str, int | None], *, node: int | None = None) -> AmdGpu | None:
    """An AMD GPU from one KFD node's properties; None for CPU nodes and other vendors."""
    simd = props.get("simd_count") or 0
    if simd <= 0 or props.get("vendor_id") not in (AMD_VENDOR, None):
        return None
    per_cu = props.get("simd_per_cu") or 0
    vram = props.get("local_mem_size") or None
    return AmdGpu(
        gfx=decode_gfx_target_version(props.get("gfx_target_version")),
        device_id=props.get("device_id"),
        compute_units=simd // per_cu if per_cu > 0 else None,
        vram_bytes=vram,
        render_minor=props.get("drm_render_minor"),
        node=node,
        location_id=props.get("location_id"),
    )


def _first_int(text: str) -> int | None:
    m = re.match(r"\s*([0-9]+)", text)
    return int(m.group(1)) if m else None


def _hex_or_int(text: str) -> int | None:
    text = text.strip()
    m = re.search(r"\(0x([0-9a-fA-F]+)\)", text) or re.fullmatch(r"0x([0-9a-fA-F]+)", text)
    if m:
        return int(m.group(1), 16)
    return _first_int(text)


class RocminfoResult(NamedTuple):
    """What rocminfo said: GPU agents, the kernel driver line, and any failure it printed."""

    gpus: tuple[AmdGpu, ...] = ()
    driver_version: str | None = None
    error: str | None = None
    #: errno text after "Unable to open /dev/kfd read-write:" ('Permission denied').
    kfd_error: str | None = None
    #: Who rocminfo ran as, from its "<user> is [not] member of <group> group" line.
    user: str | None = None
    #: The group rocminfo names: the DRM access group the user lacks, or the one the user is in.
    group: str | None = None
    user_in_group: bool | None = None
    #: "Failed to get user name": the uid has no passwd entry (a container run with -u UID).
    no_user_name: bool = False


def _flattened_agents(text: str) -> list[AmdGpu]:
    """GPU agents from rocminfo text whose line breaks were lost (pasted into one paragraph)."""
    gpus = []
    for m in re.finditer(r"Name:\s+(gfx[0-9]{1,2}[0-9a-f]{2,3})\b(.*?)(?=Name:\s+gfx[0-9]|\Z)", text, re.S):
        body = m.group(2)
        market = re.search(r"Marketing Name:\s+(.*?)\s+Vendor Name:", body)
        chip = re.search(r"Chip ID:\s+([0-9]+(?:\(0x[0-9a-fA-F]+\))?)", body)
        cus = re.search(r"Compute Unit:\s+([0-9]+)", body)
        pool = re.search(r"Segment:\s+GLOBAL;\s+FLAGS:\s+COARSE GRAINED\s+Size:\s+([0-9]+)", body)
        gpus.append(
            AmdGpu(
                gfx=m.group(1).lower(),
                name=market.group(1).strip() if market else None,
                device_id=_hex_or_int(chip.group(1)) if chip else None,
                compute_units=int(cus.group(1)) if cus else None,
                vram_bytes=int(pool.group(1)) * 1024 if pool else None,
            )
        )
    return gpus


def parse_rocminfo(text: str) -> RocminfoResult:
    """Parse full or grep-filtered rocminfo output (any ROCm release seen: 3.x to 6.x)."""
    agents: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    driver: str | None = None
    error: str | None = None
    kfd_error: str | None = None
    who: dict[str, Any] = {}
    in_isa = False
    pool_global = False
    for raw in text.splitlines():
        line = _PAGER.sub("", raw).rstrip()
        stripped = line.strip()
        if not stripped:
            continue
        m = re.match(r"ROCk module version\s+(\S+)\s+is loaded", stripped)
        if m:
            driver = m.group(1)
            continue
        m = re.match(r"Unable to open /dev/kfd read-write:\s*(.*)", stripped)
        if m:
            kfd_error = m.group(1).strip() or "unknown reason"
            error = f"cannot open /dev/kfd: {kfd_error}"
            continue
        m = re.match(r'(\S+) is (not )?member of "?([A-Za-z0-9_.-]+)"? group', stripped)
        if m and "user" not in who:
            who.update(user=m.group(1), group=m.group(3), member=m.group(2) is None)
            continue
        if stripped.startswith("Failed to get user name"):
            who["nameless"] = True
            continue
        if error is None and stripped.startswith("hsa api call failure"):
            error = stripped
        if re.fullmatch(r"Agent\s+[0-9]+", stripped):
            cur = {"isa": []}
            agents.append(cur)
            in_isa = pool_global = False
            continue
        if ":" not in stripped:
            continue
        key, _, value = stripped.partition(":")
        key, value = key.strip(), value.strip()
        indent = len(line) - len(line.lstrip())
        if key == "ISA Info":
            in_isa = True
            continue
        if key == "Name" and (in_isa or indent >= 5):
            if cur is not None:
                cur["isa"].append(value)
            continue
        if key == "Name":
            # Grep-filtered output has no "Agent N" lines: an agent-level Name starts an agent.
            if cur is None or "name" in cur:
                cur = {"isa": []}
                agents.append(cur)
                in_isa = pool_global = False
            cur["name"] = value
            continue
        if cur is None:
            continue
        if key == "Segment":
            pool_global = value.upper().startswith("GLOBAL")
        elif key == "Size" and pool_global and "vram_kb" not in cur:
            kb = _first_int(value)
            if kb is not None:
                cur["vram_kb"] = kb
        elif key in ("Marketing Name", "Device Type", "Chip ID", "Compute Unit", "Node"):
            cur.setdefault(key, value)
    gpus: list[AmdGpu] = []
    for a in agents:
        isa_gfx = next((m.group(0).lower() for i in a["isa"] if (m := _GFX.search(i))), None)
        name_gfx = _GFX.search(a.get("name", "") or "")
        dev_type = (a.get("Device Type") or "").upper()
        if dev_type and dev_type != "GPU":
            continue
        gfx = name_gfx.group(0).lower() if name_gfx else isa_gfx
        if not dev_type and gfx is None:
            continue  # grep output: a CPU agent has no gfx name
        gpus.append(
            AmdGpu(
                gfx=gfx,
                name=a.get("Marketing Name") or None,
                device_id=_hex_or_int(a["Chip ID"]) if a.get("Chip ID") else None,
                compute_units=_first_int(a.get("Compute Unit", "")),
                vram_bytes=a["vram_kb"] * 1024 if "vram_kb" in a else None,
                node=_first_int(a.get("Node", "")),
            )
        )
    if not gpus and "Marketing Name:" in text:
        gpus = _flattened_agents(text)
    return RocminfoResult(
        tuple(gpus),
        driver,
        error,
        kfd_error=kfd_error,
        user=who.get("user"),
        group=who.get("group"),
        user_in_group=who.get("member"),
        no_user_name=bool(who.get("nameless")),
    )


def _json_tail(text: str) -> Any:
    """The JSON value in `text`, skipping warning lines printed before it; None when unparseable."""
    for m in re.finditer(r"^\s*[\[{]", text, re.MULTILINE):
        try:
            return json.loads(text[m.start() :])
        except ValueError:
            continue
    return None


def parse_amd_smi_static(text: str) -> list[AmdGpu]:
    """`amd-smi static [--json]`: JSON (list or {"gpu_data": [...]}) or the indented text layout."""
    data = _json_tail(text)
    gpus: list[AmdGpu] = []
    if isinstance(data, dict):
        data = data.get("gpu_data", [data])
    if isinstance(data, list):
        for item in data:
            asic = item.get("asic") if isinstance(item, dict) else None
            if not isinstance(asic, dict):
                continue
            gfx = _GFX.search(str(asic.get("target_graphics_version", "")))
            cus = asic.get("num_compute_units")
            gpus.append(
                AmdGpu(
                    gfx=gfx.group(0).lower() if gfx else None,
                    name=str(asic.get("market_name") or "") or None,
                    device_id=_hex_or_int(str(asic.get("device_id", ""))),
                    compute_units=cus if isinstance(cus, int) else None,
                )
            )
        if gpus:
            return gpus
    # Text layout, or JSON cut short: scan key: value pairs per "GPU: N" block.
    block: dict[str, str] | None = None
    blocks: list[dict[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip().strip('",')
        if re.match(r"^(GPU:\s*[0-9]+|\"?gpu\"?:\s*[0-9]+)", line, re.IGNORECASE):
            block = {}
            blocks.append(block)
            continue
        m = re.match(r'"?([A-Za-z_ ]+)"?\s*:\s*"?([^"]*)"?,?$', line)
        if m:
            if block is None:
                block = {}
                blocks.append(block)
            block.setdefault(m.group(1).strip().lower(), m.group(2).strip())
    for b in blocks:
        gfx = _GFX.search(b.get("target_graphics_version", ""))
        if gfx is None and "market_name" not in b:
            continue
        gpus.append(
            AmdGpu(
                gfx=gfx.group(0).lower() if gfx else None,
                name=b.get("market_name") or None,
                device_id=_hex_or_int(b["device_id"]) if b.get("device_id") else None,
                compute_units=_first_int(b.get("num_compute_units", "")),
            )
        )
    return gpus


def parse_amd_smi_version(text: str) -> tuple[str | None, str | None]:
    """`amd-smi version` -> (ROCm version, amdgpu driver version)."""
    rocm = re.search(r"ROCm version:\s*([0-9]+\.[0-9]+(?:\.[0-9]+)?)", text)
    drv = re.search(r"amdgpu version:\s*([0-9]+\.[0-9]+(?:\.[0-9]+)?)", text)
    return (rocm.group(1) if rocm else None, drv.group(1) if drv else None)


def _naive_gfx(text: str) -> str | None:
    """rocm-smi's "GFX Version" prints gfx_target_version's parts as decimals ('gfx9010' for gfx90a,
    ROCm/rocm_smi_lib#159); only a value with single-digit minor and stepping reads the same."""
    m = re.fullmatch(r"\s*gfx(9|1[0-2])([0-9])([0-9])\s*", text, re.IGNORECASE)
    return f"gfx{m.group(1)}{m.group(2)}{m.group(3)}" if m else None


def parse_rocm_smi_product(text: str) -> list[AmdGpu]:
    """`rocm-smi` output -> GPUs: `--showproductname` (JSON, CSV or plain), `--showallinfo`, and the
    default concise table (which gives only the count, and on 6.x the device id).

    The JSON "GFX Version" field prints gfx_target_version naively ("gfx9010" for gfx90a,
    ROCm/rocm_smi_lib#159), so it is used only where that cannot mislead.
    """
    data = _json_tail(text)
    gpus: list[AmdGpu] = []
    if isinstance(data, dict):
        for card, fields in data.items():
            if not (str(card).startswith("card") and isinstance(fields, dict)):
                continue
            gpus.append(
                AmdGpu(
                    name=str(fields.get("Card Series") or fields.get("Card series") or "") or None,
                    device_id=_hex_or_int(str(fields.get("Card Model") or fields.get("Card model") or "")),
                    gfx=_naive_gfx(str(fields.get("GFX Version", ""))),
                )
            )
        if gpus:
            return gpus
    cards: dict[str, dict[str, str]] = {}
    header: list[str] | None = None
    concise: list[str] = []
    in_concise = False
    for raw in text.splitlines():
        cells = [c.strip() for c in raw.split(",")]
        if len(cells) > 1 and any(c.lower() == "card series" for c in cells):
            header = [c.lower() for c in cells]
            continue
        if header and len(cells) == len(header) and cells[0].startswith("card"):
            cards[cells[0]] = dict(zip(header, cells, strict=True))
            continue
        m = re.match(r"\s*GPU\[([0-9]+)\]\s*:\s*([^:]+):\s*(.*)$", raw)
        if m:
            cards.setdefault(m.group(1), {})[m.group(2).strip().lower()] = m.group(3).strip()
            continue
        if re.match(r"\s*(GPU|Device)\s+.*(Temp|Node)", raw):
            in_concise = True
        elif in_concise and re.match(r"\s*[0-9]+\s+\S", raw):
            concise.append(raw)
        elif raw.startswith("="):
            in_concise = in_concise and not concise
    for fields in cards.values():
        series = fields.get("card series") or fields.get("device name") or ""
        # Old rocm-smi prints the raw device id as "Card series: 0x738c" when pci.ids lacks it.
        raw_id = re.fullmatch(r"0x[0-9a-fA-F]+", series)
        model = fields.get("device id") or fields.get("card model") or ""
        dev = (
            _hex_or_int(series)
            if raw_id
            else _hex_or_int(model)
            if re.fullmatch(r"0x[0-9a-fA-F]+", model)
            else None
        )
        vram = fields.get("vram total memory (b)", "")
        if not (series or model or fields.get("gfx version")):
            continue
        gpus.append(
            AmdGpu(
                name=None if raw_id else series or None,
                device_id=dev,
                gfx=_naive_gfx(fields.get("gfx version", "")),
                vram_bytes=int(vram) if vram.isascii() and vram.isdigit() else None,
            )
        )
    if not gpus:
        for row in concise:
            did = re.search(r"\b0x([0-9a-fA-F]{4})\b", row)
            gpus.append(AmdGpu(device_id=int(did.group(1), 16) if did else None))
    return gpus


def parse_agent_enumerator(text: str) -> list[AmdGpu]:
    """`rocm_agent_enumerator`: one ISA per agent; gfx000 is the CPU agent."""
    gpus = []
    for line in text.splitlines():
        m = re.fullmatch(r"\s*(gfx[0-9]{1,2}[0-9a-f]{2,3})\s*", line, re.IGNORECASE)
        if m and m.group(1).lower() != "gfx000":
            gpus.append(AmdGpu(gfx=m.group(1).lower()))
    return gpus


def parse_rocm_smi_driver(text: str) -> str | None:
    """`rocm-smi --showdriverversion` / `--showallinfo`: 'Driver version: 6.7.0' (the amdgpu module)."""
    m = re.search(r"Driver version:\s*([0-9]+\.[0-9]+(?:\.[0-9]+)?(?:[-.][0-9A-Za-z_.]+)?)", text)
    return m.group(1) if m else None


def parse_amd_smi_driver(text: str) -> str | None:
    """`amd-smi static`: the DRIVER block's VERSION (text) or driver.version (JSON)."""
    m = re.search(r"DRIVER:\s*\n(?:\s+\w+:.*\n)*?\s+VERSION:\s*([0-9][0-9A-Za-z.+_-]*)", text)
    if m:
        return m.group(1)
    m = re.search(r'"driver"\s*:\s*\{[^}]*?"version"\s*:\s*"([0-9][^"]*)"', text)
    return m.group(1) if m else None


def parse_rocm_version_file(text: str) -> str | None:
    """`.info/version` ('5.7.1-98', '6.3.4-76', '7.14.0') -> '5.7.1'."""
    for line in text.splitlines():
        m = re.match(r"\s*([0-9]+\.[0-9]+(?:\.[0-9]+)?)", line)
        if m:
            return m.group(1)
    return None


def parse_rocm_version_header(text: str) -> str | None:
    """rocm_version.h `#define ROCM_VERSION_MAJOR 5` ... -> '5.7.1'."""
    parts = {}
    for key in ("MAJOR", "MINOR", "PATCH"):
        m = re.search(rf"#define\s+ROCM_VERSION_{key}\s+([0-9]+)", text)
        if m:
            parts[key] = m.group(1)
    if "MAJOR" not in parts or "MINOR" not in parts:
        return None
    return ".".join(parts[k] for k in ("MAJOR", "MINOR", "PATCH") if k in parts)


def pci_slot_location(uevent: str) -> int | None:
    """/sys/class/drm/cardN/device/uevent `PCI_SLOT_NAME=0000:86:00.0` -> KFD location_id (0x8600)."""
    m = re.search(
        r"^PCI_SLOT_NAME=[0-9a-fA-F]{4}:([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])", uevent, re.MULTILINE
    )
    if not m:
        return None
    bus, dev, fn = int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))
    return bus << 8 | dev << 3 | fn
