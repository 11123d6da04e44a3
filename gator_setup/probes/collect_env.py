"""Parser for torch's `collect_env` report (pasted into bug reports): GPUs, driver, torch build.

Pure text -> data; the report is read only from a replay (`.gator/commands/collect-env.txt`),
never produced live: running it imports torch, which costs seconds.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from gator_setup.probes.torch_build import TorchBuild

_MISSING = {"", "n/a", "none", "no cuda", "could not collect"}


class CollectEnv(NamedTuple):
    """The facts of one collect_env report; any may be unknown."""

    torch_version: str | None = None
    cuda_build: str | None = None
    rocm_build: str | None = None
    #: (name, gfx target or None) per GPU line.
    gpus: tuple[tuple[str, str | None], ...] = ()
    nvidia_driver: str | None = None
    hip_runtime: str | None = None
    wsl: bool = False
    #: "name==version" pins from "Versions of relevant libraries".
    packages: tuple[tuple[str, str], ...] = ()


def _field(text: str, label: str) -> str | None:
    m = re.search(rf"{re.escape(label)}:[ \t]*(.*)", text)
    value = m.group(1).strip() if m else ""
    return None if value.lower() in _MISSING else value


def parse_collect_env(text: str) -> CollectEnv:
    """Parse a full or partial report (e-mail wrapped, glued first line, cut short)."""
    gpus: list[tuple[str, str | None]] = []
    m = re.search(r"GPU models and configuration:[ \t]*(.*(?:\n(?:GPU [0-9]+:.*))*)", text)
    for raw in m.group(1).splitlines() if m else []:
        line = re.sub(r"^GPU [0-9]+:\s*", "", raw.strip())
        if line.lower() in _MISSING:
            continue
        gfx = re.search(r"\((gfx[0-9]{1,2}[0-9a-f]{2,3})[^)]*\)", line)
        name = re.sub(r"\s*\(gfx[^)]*\)", "", line).strip()
        if name:
            gpus.append((name, gfx.group(1).lower() if gfx else None))
    platform = _field(text, "Python platform") or ""
    packages = tuple(
        (p.lower(), v)
        for p, v in re.findall(r"^\[(?:pip3?|conda)\]\s+([A-Za-z0-9_.-]+)==([0-9][^\s]*)", text, re.M)
    )
    version = _field(text, "PyTorch version")
    return CollectEnv(
        torch_version=version.split()[0] if version else None,
        cuda_build=_field(text, "CUDA used to build PyTorch"),
        rocm_build=_field(text, "ROCM used to build PyTorch"),
        gpus=tuple(gpus),
        nvidia_driver=_field(text, "Nvidia driver version"),
        hip_runtime=_field(text, "HIP runtime version"),
        wsl=bool(re.search(r"microsoft-standard-WSL2", platform + (_field(text, "OS") or ""))),
        packages=packages,
    )


def torch_build(text: str) -> TorchBuild | None:
    """The torch build a collect_env report describes, or None when it names no torch."""
    env = parse_collect_env(text)
    if not env.torch_version:
        return None
    local = env.torch_version.split("+", 1)[1] if "+" in env.torch_version else None
    kind = "rocm" if env.rocm_build else "cuda" if env.cuda_build else "cpu"
    return TorchBuild(
        version=env.torch_version,
        local=local,
        kind=kind,
        hip=env.rocm_build,
        cuda=env.cuda_build,
        location="collect_env",
    )
