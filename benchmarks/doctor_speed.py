"""Whole-process time of `gator doctor --python VENV` vs `hf env` and `python -m torch.utils.collect_env`.

Usage (from the repository root, with gator installed in the running interpreter):
    python benchmarks/doctor_speed.py --venv /tmp/benchvenv --runs 5

The venv (created when missing) holds torch 2.13.0 (from --find-links /opt/wheels), diffusers,
transformers and huggingface_hub. "cold" runs use an empty gator cache each time; "warm" runs
reuse one. Each tool is run once untimed first so that bytecode caches exist for all of them.
Targets (issue 15): cold no slower than `hf env`, warm at most half of it. The load average is
printed before and after: on a shared machine, compare only figures of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import clean_env, ensure_venv, fmt, gator_cmd, median, time_run


def torch_imported_by_doctor(venv: Path, project: str) -> bool:
    """Does the default doctor path import torch (in gator's own process)? It must not."""
    code = (
        "import sys\nfrom gator_setup.cli.app import main\n"
        f"main(['doctor', '--python', {str(venv)!r}, '--project', {project!r}])\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean_env())
    return "NO-TORCH" not in proc.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", type=Path, default=Path("/tmp/gator-bench-venv"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    load_before = os.getloadavg()
    venv = ensure_venv(args.venv)
    py = str(venv / "bin" / "python")
    project = tempfile.mkdtemp(prefix="gator-bench-project-")
    warm_cache = tempfile.mkdtemp(prefix="gator-bench-cache-")
    gator = [*gator_cmd(), "doctor", "--python", str(venv), "--project", project]
    commands = {
        "hf env": ([str(venv / "bin" / "hf"), "env"], clean_env()),
        "torch collect_env": ([py, "-m", "torch.utils.collect_env"], clean_env()),
        "gator doctor (warm cache)": (gator, clean_env(GATOR_CACHE_DIR=warm_cache)),
    }
    for cmd, env in commands.values():  # untimed: bytecode caches, warm gator cache
        time_run(cmd, env)
    results: dict[str, list[float]] = {name: [] for name in commands}
    results["gator doctor (cold cache)"] = []
    for _ in range(args.runs):
        for name, (cmd, env) in commands.items():
            results[name].append(time_run(cmd, env)[0])
        cold = clean_env(GATOR_CACHE_DIR=tempfile.mkdtemp(prefix="gator-bench-cold-"))
        results["gator doctor (cold cache)"].append(time_run(gator, cold)[0])
    med = {k: median(v) for k, v in results.items()}
    torch_loaded = torch_imported_by_doctor(venv, project)
    load = {"before": load_before, "after": os.getloadavg()}
    if args.json:
        out = {"medians_s": med, "runs": results, "torch_imported": torch_loaded, "loadavg": load}
        print(json.dumps(out, indent=2))
        return 0
    print(f"venv: {venv}  ({args.runs} runs each, whole-process wall time)")
    print(f"  load average (1/5/15 min) before {load_before}, after {load['after']}")
    for name, values in results.items():
        print(f"  {name:<28} {fmt(values)}")
    targets = {"warm": 0.5, "cold": 1.0}  # at most this many times `hf env`
    for mode in ("warm", "cold"):
        g = med[f"gator doctor ({mode} cache)"]
        ratio = g / med["hf env"]
        print(
            f"  ratio gator({mode}) / hf env = {ratio:.2f} (target <= {targets[mode]}: "
            f"{'met' if ratio <= targets[mode] else 'NOT met'})   "
            f"gator({mode}) / collect_env = {g / med['torch collect_env']:.1%}"
        )
    print(f"  torch imported by the default doctor path: {'YES' if torch_loaded else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
