"""Parsers for NVIDIA platform outputs: /proc/driver/nvidia/version, nvidia-smi (query CSV and plain).

Pure text -> data functions, fuzz-tested: any input gives a result, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

_VERSION = re.compile(r"\b([0-9]{2,4}\.[0-9]{1,3}(?:\.[0-9]{1,3})?)\b")


@dataclass(frozen=True)
class NvidiaGpu:
    """One NVIDIA GPU; `arch` is 'sm_86' style when the compute capability is known."""

    index: int | None = None
    name: str | None = None
    arch: str | None = None
    vram_bytes: int | None = None
    driver: str | None = None
    #: 'Turing', 'Hopper'... as `nvidia-smi -q` names it (R470+), when it did.
    family: str | None = None
    #: The name as printed was cut short ('NVIDIA GeForce RTX 3060 ...' in the plain table).
    truncated: bool = False


class NvidiaSmiResult(NamedTuple):
    """What plain nvidia-smi said: header versions, GPU rows, or the failure it printed."""

    gpus: tuple[NvidiaGpu, ...] = ()
    driver: str | None = None
    cuda: str | None = None
    error: str | None = None
    #: The Windows driver model (WDDM/TCC) is in play: native Windows, or WSL2 through -q.
    windows_driver: bool = False


def parse_proc_version(text: str) -> str | None:
    """/proc/driver/nvidia/version -> driver version, for the proprietary and the open module layouts."""
    for line in text.splitlines():
        if not line.startswith("NVRM version"):
            continue
        # The open module puts "for x86_64" between "Module" and the number (nixGL#186).
        after = line.split("Module", 1)[1] if "Module" in line else line
        m = _VERSION.search(after)
        if m:
            return m.group(1)
    return None


def _ascii_int(text: str) -> bool:
    # str.isdigit() accepts superscripts like '¹' that int() rejects (found by the fuzz test).
    return text.isascii() and text.isdigit()


def _arch(cap: str) -> str | None:
    m = re.fullmatch(r"\s*([0-9]{1,2})\.([0-9]{1,2})\s*", cap)
    return f"sm_{m.group(1)}{m.group(2)}" if m else None


def _mib(text: str) -> int | None:
    m = re.search(r"([0-9]+(?:\.[0-9]+)?)\s*(MiB|GiB)?", text)
    if not m:
        return None
    value = float(m.group(1))
    return int(value * (1024**3 if m.group(2) == "GiB" else 1024**2))


def parse_query_csv(text: str) -> tuple[list[NvidiaGpu], str | None]:
    """`nvidia-smi --query-gpu=index,name,driver_version,memory.total[,compute_cap] --format=csv...`.

    Accepts the header row (with or without units), `noheader`, any column order when a header
    is present, and `[N/A]` / blank fields. Returns (GPUs, error line when the tool refused).
    """
    fields = ["index", "name", "driver_version", "memory.total", "compute_cap"]
    gpus: list[NvidiaGpu] = []
    error: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "$")):
            continue
        if ("Field" in line and "is not a valid field" in line) or line.startswith(
            ("Failed", "NVIDIA-SMI has")
        ):
            error = line
            continue
        cells = [c.strip() for c in line.split(",")]
        lowered = [re.sub(r"\s*\[.*\]$", "", c).lower() for c in cells]
        if "name" in lowered and ("index" in lowered or "driver_version" in lowered):
            fields = lowered
            continue
        if len(cells) < 2:
            continue
        row = dict(zip(fields, cells, strict=False))
        index = row.get("index", "")
        cap = row.get("compute_cap", "")
        mem = row.get("memory.total", "")
        name = row.get("name", "")
        if not _ascii_int(index) and not name:
            continue
        gpus.append(
            NvidiaGpu(
                index=int(index) if _ascii_int(index) else None,
                name=name if name and not name.startswith("[") else None,
                arch=_arch(cap),
                vram_bytes=_mib(mem) if mem and not mem.startswith("[") else None,
                driver=row.get("driver_version") or None,
            )
        )
    return gpus, error


def _failure(text: str) -> str | None:
    if "couldn't communicate with the NVIDIA driver" in text:
        return "nvidia-smi cannot talk to the NVIDIA driver (kernel module not loaded)"
    m = re.search(r"Failed to initialize NVML:\s*(.*)", text)
    if m:
        return f"Failed to initialize NVML: {m.group(1).strip()}"
    return None


def parse_nvidia_smi(text: str) -> NvidiaSmiResult:
    """Plain `nvidia-smi`: header labels before and after R610, GPU rows, and the known failures."""
    error = _failure(text)
    if error:
        return NvidiaSmiResult(error=error)
    driver = re.search(r"(?:Driver|KMD) Version:\s*([0-9]+\.[0-9]+(?:\.[0-9]+)?)", text)
    cuda = re.search(r"CUDA (?:UMD )?Version:\s*([0-9]+\.[0-9]+)", text)
    gpus: list[NvidiaGpu] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        # Linux prints Persistence-M (On/Off) after the name; Windows prints the driver model.
        row = re.match(r"^\s*\|\s+([0-9]+)\s+(.+?)\s+(?:On|Off|WDDM|TCC)\s*\|", line)
        if not row:
            continue
        mem = None
        if i + 1 < len(lines):
            mm = re.search(r"([0-9]+)MiB\s*/\s*([0-9]+)MiB", lines[i + 1])
            mem = int(mm.group(2)) * 1024**2 if mm else None
        name = row.group(2).strip()
        cut = name.endswith("...")
        gpus.append(
            NvidiaGpu(
                index=int(row.group(1)),
                name=name.rstrip(". ") if cut else name,
                vram_bytes=mem,
                truncated=cut,
            )
        )
    return NvidiaSmiResult(
        tuple(gpus),
        driver.group(1) if driver else None,
        cuda.group(1) if cuda else None,
        windows_driver="TCC/WDDM" in text,
    )


def parse_nvidia_smi_list(text: str) -> NvidiaSmiResult:
    """`nvidia-smi -L`: 'GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-...)'; MIG lines are not GPUs."""
    error = _failure(text)
    if error:
        return NvidiaSmiResult(error=error)
    gpus = [
        NvidiaGpu(index=int(m.group(1)), name=m.group(2).strip())
        for m in re.finditer(r"^GPU ([0-9]+): (.+?) \(UUID: ", text, re.MULTILINE)
    ]
    return NvidiaSmiResult(tuple(gpus))


def _xml_q(text: str) -> NvidiaSmiResult:
    """`nvidia-smi -q -x`: the same report as XML, read by tag (it may be cut short)."""

    def tag(name: str, body: str) -> str | None:
        m = re.search(rf"<{name}>\s*([^<]*?)\s*</{name}>", body)
        return m.group(1) if m and m.group(1) not in ("", "N/A") else None

    driver, cuda = tag("driver_version", text), tag("cuda_version", text)
    gpus = []
    for i, block in enumerate(re.split(r"<gpu id=", text)[1:]):
        mem = re.search(r"<fb_memory_usage>.*?<total>\s*([0-9]+ MiB)", block, re.S)
        gpus.append(
            NvidiaGpu(
                index=i,
                name=tag("product_name", block),
                family=tag("product_architecture", block),
                vram_bytes=_mib(mem.group(1)) if mem else None,
                driver=driver if driver and _VERSION.fullmatch(driver) else None,
            )
        )
    dm = re.search(r"<current_dm>\s*(WDDM|TCC)\s*<", text)
    return NvidiaSmiResult(
        tuple(gpus),
        driver if driver and _VERSION.fullmatch(driver) else None,
        cuda if cuda and re.fullmatch(r"[0-9]+\.[0-9]+", cuda) else None,
        windows_driver=dm is not None,
    )


def parse_nvidia_smi_q(text: str) -> NvidiaSmiResult:
    """`nvidia-smi -q` (also `-a`, `-q -d ...`, `-q -x`): the `Key : value` report (or its XML),
    one block per GPU."""
    error = _failure(text)
    if error:
        return NvidiaSmiResult(error=error)
    if "<nvidia_smi_log>" in text:
        return _xml_q(text)
    driver = cuda = None
    windows = False
    gpus: list[dict[str, str]] = []
    section = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if re.match(r"^GPU [0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7]\s*$", line.strip()):
            gpus.append({})
            section = ""
            continue
        key, sep, value = line.partition(" : ") if " : " in line else line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep:
            # A heading such as "FB Memory Usage" or "Driver Model": its keys follow, indented.
            section = key
            continue
        if not gpus:
            if key in ("Driver Version", "KMD Version") and _VERSION.fullmatch(value):
                driver = value
            elif key in ("CUDA Version", "CUDA UMD Version") and re.fullmatch(r"[0-9]+\.[0-9]+", value):
                cuda = value
            continue
        gpu = gpus[-1]
        if section == "Driver Model" and key == "Current" and value in ("WDDM", "TCC"):
            windows = True
        if section == "FB Memory Usage" and key == "Total":
            gpu.setdefault("memory", value)
        elif key in ("Product Name", "Product Architecture", "Minor Number"):
            gpu.setdefault(key, value)
    out = []
    for i, g in enumerate(gpus):
        name = g.get("Product Name") or None
        family = g.get("Product Architecture") or None
        mem = g.get("memory", "")
        out.append(
            NvidiaGpu(
                index=i,
                name=name if name and name != "N/A" else None,
                vram_bytes=_mib(mem) if re.match(r"[0-9]", mem) else None,
                driver=driver,
                family=family if family and family != "N/A" else None,
            )
        )
    return NvidiaSmiResult(tuple(out), driver, cuda, windows_driver=windows)
