"""Shared helpers of the benchmark scripts: the bench venv, timing whole processes, medians."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

BENCH_REQUIREMENTS = ("torch==2.13.0", "diffusers", "transformers", "huggingface_hub")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for timed processes: bytecode caching on (as for users), no colour, and no
    inherited cache location (a GATOR_IMPORTS_CACHE left in the shell would make a "cold" run
    warm); `extra` sets what the run needs. GATOR_PURE_PYTHON / GATOR_NO_PARALLEL pass through."""
    dropped = ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "GATOR_CACHE_DIR", "GATOR_IMPORTS_CACHE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
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


class Run(NamedTuple):
    """One timed process: wall seconds, exit code, CPU seconds (user + system, its children included)."""

    wall: float
    rc: int
    cpu: float


def time_run(cmd: list[str], env: dict[str, str], timeout: float = 600, cwd: str | None = None) -> Run:
    """Time one whole process, waited for with a blocking wait4.

    Not `subprocess.run(timeout=...)`: with a timeout, Popen.wait polls with sleeps that grow to
    50 ms, so every time came out rounded up to the next poll (rg's 0.12-0.14 s read as 0.165 s,
    and all times here sat on a 50-ms grid until this was found). The timeout kills the process
    from a timer thread instead. wait4 also gives the CPU time of the process and of the children
    it waited for (gator's worker processes, the interpreter it asks).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        _pid, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, proc.returncode, usage.ru_utime + usage.ru_stime)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt(values: list[float]) -> str:
    return f"{median(values):7.3f} s  (runs: {', '.join(f'{v:.3f}' for v in values)})"
