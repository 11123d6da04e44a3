"""Shared helpers of the benchmark scripts: the bench venv, timing whole processes, medians."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_REQUIREMENTS = ("torch==2.13.0", "diffusers", "transformers", "huggingface_hub")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for timed processes: bytecode caching on (as for users), no colour."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def ensure_venv(path: Path, find_links: str = "/opt/wheels") -> Path:
    """Create the bench venv (torch from the local wheel folder) unless it exists."""
    if (path / "bin" / "python").exists():
        return path
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    subprocess.run([uv, "venv", "-q", "--python", "3.11", str(path)], check=True)
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(path / "bin" / "python"), "--find-links", find_links,
         *BENCH_REQUIREMENTS],
        check=True,
    )  # fmt: skip
    return path


def gator_cmd() -> list[str]:
    """The gator console script of the interpreter running this script (or python -m)."""
    script = Path(sys.executable).with_name("gator")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gator_setup"]


def time_run(
    cmd: list[str], env: dict[str, str], timeout: float = 600, cwd: str | None = None
) -> tuple[float, int]:
    """Wall seconds of one whole process, and its exit code."""
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout, cwd=cwd
    )
    return time.perf_counter() - start, proc.returncode


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt(values: list[float]) -> str:
    return f"{median(values):7.3f} s  (runs: {', '.join(f'{v:.2f}' for v in values)})"
