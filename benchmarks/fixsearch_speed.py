"""What the verified-fix search costs on a broken venv (it runs only when the doctor finds an error).

    python benchmarks/fixsearch_speed.py [--runs 3] [--venv DIR]

Builds (once, with uv) the issue's broken venv, diffusers 0.27.2 + huggingface_hub 0.26.0 +
transformers 4.40.0, runs `gator doctor --json` on it and prints, per run, the whole process time
and the search's own `fix_search` figures from the report (candidates tried, seconds); wheels are
cached after the first run. Prints the load average with them: the box is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REQS = ("diffusers==0.27.2", "huggingface_hub==0.26.0", "transformers==4.40.0")


def _uv() -> str:
    return shutil.which("uv") or str(Path(sys.executable).parent / "uv")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--venv", type=Path, default=Path(".venvs") / "bench-fixsearch")
    args = ap.parse_args()
    venv: Path = args.venv
    if not (venv / "bin" / "python").exists():
        subprocess.run([_uv(), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        subprocess.run(
            [_uv(), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *REQS], check=True
        )
    wall: list[float] = []
    for i in range(args.runs):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "gator_setup", "doctor", "--python", str(venv), "--json"],
            capture_output=True,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        wall.append(time.perf_counter() - start)
        search = json.loads(proc.stdout).get("context", {}).get("fix_search", {})
        print(f"run {i + 1}: exit {proc.returncode}, {wall[-1]:.1f} s total, fix_search {search}")
    print(f"median {statistics.median(wall):.1f} s over {len(wall)} runs; load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
