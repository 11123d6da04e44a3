"""Which torch build is installed, read from its files (never imported), plus the opt-in --deep probe.

The fast path reads `torch/version.py` with `ast` (no exec) and the dist-info METADATA; for ROCm
wheels the per-arch rocBLAS kernel file names give the compiled arch list. `--deep` imports torch
in a subprocess of the target interpreter, with a timeout, for the exact arch list, the visible
devices and a tiny tensor op on the device.
"""

from __future__ import annotations

import ast
import json
import os
import re
from typing import NamedTuple

from packaging.version import InvalidVersion, Version

from gator_setup.probes.system import SystemView, decode

DEEP_TIMEOUT_S = 120.0


class TorchBuild(NamedTuple):
    """The installed torch wheel: version, local tag, GPU runtime it was built for."""

    version: str | None = None
    #: 'rocm5.7', 'cu121', 'cpu' or None (PyPI's Linux wheels carry no tag).
    local: str | None = None
    #: 'rocm', 'cuda', 'cpu' or 'unknown'.
    kind: str = "unknown"
    hip: str | None = None
    cuda: str | None = None
    #: Compiled GPU archs, from --deep or (ROCm) the rocBLAS kernel files; () when unknown.
    arch_list: tuple[str, ...] = ()
    arch_source: str | None = None
    location: str | None = None
    unavailable: str | None = None

    @property
    def rocm_version(self) -> str | None:
        """'5.7' from the local tag or the HIP version string."""
        m = re.fullmatch(r"rocm([0-9]+\.[0-9]+)(?:\.[0-9]+)?", self.local or "")
        if m:
            return m.group(1)
        m = re.match(r"([0-9]+\.[0-9]+)", self.hip or "")
        return m.group(1) if m else None

    @property
    def label(self) -> str:
        if not self.version:
            return "no torch"
        runtime = {"rocm": f"ROCm {self.rocm_version}", "cuda": f"CUDA {self.cuda}", "cpu": "CPU-only"}
        return f"torch {self.version} ({runtime.get(self.kind, 'unknown build')})"


class DeepTorch(NamedTuple):
    """What importing torch in the target interpreter showed."""

    ok: bool
    arch_list: tuple[str, ...] = ()
    device_count: int = 0
    devices: tuple[str, ...] = ()
    gcn_arch: tuple[str, ...] = ()
    tensor_op: str | None = None
    error: str | None = None


def parse_version_py(text: str) -> dict[str, str | None]:
    """Assignments of torch/version.py (`__version__`, `cuda`, `hip`, `rocm`...) via ast, never exec."""
    out: dict[str, str | None] = {}
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return out
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if (
            isinstance(target, ast.Name)
            and isinstance(value, ast.Constant)
            and (isinstance(value.value, str) or value.value is None)
        ):
            out[target.id] = value.value
    return out


def classify(version: str | None, fields: dict[str, str | None]) -> tuple[str | None, str]:
    """(local tag, kind) from the version string and version.py fields; version.py wins over the tag."""
    local = None
    if version:
        try:
            local = Version(version).local
        except InvalidVersion:
            local = version.split("+", 1)[1] if "+" in version else None
    if fields.get("hip"):
        return local, "rocm"
    if fields.get("cuda"):
        return local, "cuda"
    if local:
        if local.startswith("rocm"):
            return local, "rocm"
        if local.startswith("cu"):
            return local, "cuda"
        if local == "cpu":
            return local, "cpu"
    if "__version__" in fields:
        return local, "cpu"  # version.py read, neither hip nor cuda set: a CPU build
    return local, "unknown"


def _find_torch_dir(system: SystemView, site_dirs: list[str]) -> tuple[str | None, str | None]:
    for site in site_dirs:
        pkg = f"{site.rstrip('/')}/torch"
        if system.listdir(pkg):
            meta = None
            for entry in system.listdir(site):
                if re.fullmatch(r"torch-[^-]+\.dist-info", entry):
                    meta = f"{site.rstrip('/')}/{entry}/METADATA"
                    break
            return pkg, meta
    return None, None


def probe_torch_build(system: SystemView, site_dirs: list[str]) -> TorchBuild:
    """Read the torch build from the first site dir that holds torch."""
    pkg, meta_path = _find_torch_dir(system, site_dirs)
    if pkg is None:
        return TorchBuild(unavailable="torch is not installed in this environment")
    version = None
    if meta_path:
        meta = system.read_text(meta_path) or ""
        m = re.search(r"^Version:\s*(\S+)", meta, re.MULTILINE)
        version = m.group(1) if m else None
    fields = parse_version_py(system.read_text(f"{pkg}/version.py") or "")
    version = version or fields.get("__version__")
    if not version:
        return TorchBuild(location=pkg, unavailable="torch is installed but its version cannot be read")
    local, kind = classify(version, fields)
    arch: tuple[str, ...] = ()
    source = None
    if kind == "rocm":
        # The wheel copies only the rocBLAS kernels of PYTORCH_ROCM_ARCH (pytorch/builder build_rocm.sh).
        names = system.listdir(f"{pkg}/lib/rocblas/library")
        found = sorted({m.group(1) for n in names if (m := re.search(r"(gfx[0-9a-f]{3,4})", n))})
        if found:
            arch, source = tuple(found), "rocBLAS kernel files in the wheel"
    return TorchBuild(
        version=version,
        local=local,
        kind=kind,
        hip=fields.get("hip"),
        cuda=fields.get("cuda"),
        arch_list=arch,
        arch_source=source,
        location=pkg,
    )


_DEEP_SCRIPT = r"""
import json, sys
out = {"ok": False}
try:
    import torch
    out["arch_list"] = list(torch.cuda.get_arch_list()) if hasattr(torch.cuda, "get_arch_list") else []
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    out["device_count"] = n
    out["devices"] = [torch.cuda.get_device_name(i) for i in range(n)]
    out["gcn_arch"] = [getattr(torch.cuda.get_device_properties(i), "gcnArchName", "") for i in range(n)]
    dev = "cuda" if n else "cpu"
    x = torch.ones(4, device=dev)
    out["tensor_op"] = f"{dev}: (ones(4) * 2).sum() = {float((x * 2).sum().cpu())}"
    out["ok"] = True
except BaseException as exc:
    out["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
print("GATOR-DEEP " + json.dumps(out))
"""


def parse_deep_output(stdout: str, returncode: int | None) -> DeepTorch:
    """The marker line of the deep probe, or the crash it died with (e.g. hipErrorNoBinaryForGpu abort)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("GATOR-DEEP "):
            try:
                data = json.loads(line[len("GATOR-DEEP ") :])
            except ValueError:
                break
            return DeepTorch(
                ok=bool(data.get("ok")),
                arch_list=tuple(str(a) for a in data.get("arch_list") or ()),
                device_count=int(data.get("device_count") or 0),
                devices=tuple(str(d) for d in data.get("devices") or ()),
                gcn_arch=tuple(str(a) for a in data.get("gcn_arch") or ()),
                tensor_op=data.get("tensor_op"),
                error=data.get("error"),
            )
    tail = [ln for ln in stdout.strip().splitlines() if ln.strip()][-3:]
    detail = " | ".join(tail) if tail else "no output"
    return DeepTorch(ok=False, error=f"torch import crashed (exit {returncode}): {detail}"[:400])


def run_deep(python: str, timeout: float = DEEP_TIMEOUT_S) -> DeepTorch:
    """Import torch in a subprocess of `python` (a crash or hang there never takes gator down)."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    try:
        proc = subprocess.run(
            [python, "-c", _DEEP_SCRIPT],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return DeepTorch(ok=False, error=f"importing torch did not finish within {timeout:.0f} s")
    except OSError as exc:
        return DeepTorch(ok=False, error=f"cannot run {python}: {exc.strerror or exc}")
    return parse_deep_output(decode(proc.stdout), proc.returncode)
