"""Cold `gator scan` of a venv's site-packages: this checkout against another one, interleaved.

Usage (from the repository root, with gator's dependencies in the running interpreter):
    git worktree add /tmp/gator-ref <commit>
    python benchmarks/scan_ab.py --ref /tmp/gator-ref --venv /tmp/gator-bench-venv --runs 11

Each round runs rg (as scan_speed.py does), then each tree's `python -m gator_setup scan SITE
--python VENV` with an empty cache, so that the machine's load drifts alike over all three. The
processes start in a temporary folder with PYTHONPATH set to the tree: started from inside a
checkout, `python -m` imports that checkout whatever PYTHONPATH says. Both trees run on this
interpreter and its packages (the `fast` extra included when it is installed here).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from _common import clean_env, ensure_venv, fmt, median, time_run
from scan_speed import NAMES


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", type=Path, required=True, help="the other checkout (a git worktree)")
    ap.add_argument("--venv", type=Path, default=Path("/tmp/gator-bench-venv"))
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    if not (args.ref / "gator_setup" / "__init__.py").is_file():
        print(f"{args.ref} is not a gator checkout (no gator_setup/__init__.py)", file=sys.stderr)
        return 2
    rg = shutil.which("rg")
    if rg is None:
        print("rg not found: apt-get install -y ripgrep", file=sys.stderr)
        return 2
    venv = ensure_venv(args.venv)
    site = next((venv / "lib").glob("python3*/site-packages"))
    trees = {f"ref ({args.ref})": args.ref.resolve(), "this checkout": Path(__file__).resolve().parents[1]}
    outside = tempfile.mkdtemp(prefix="gator-ab-")
    scan = [sys.executable, "-m", "gator_setup", "scan", str(site), "--python", str(venv)]
    rg_cmd = [rg, "--type", "py", "-n", "-e", rf"(from|import)\s+({NAMES})\b", str(site)]
    for tree in trees.values():  # bytecode caches first, for both trees
        time_run(
            [sys.executable, "-m", "gator_setup", "scan", outside],
            clean_env(PYTHONPATH=str(tree)),
            cwd=outside,
        )
    res: dict[str, list[float]] = {"rg": [], **{name: [] for name in trees}}
    cpu: dict[str, list[float]] = {name: [] for name in res}
    for _ in range(args.runs):
        run = time_run(rg_cmd, clean_env())
        res["rg"].append(run.wall)
        cpu["rg"].append(run.cpu)
        for name, tree in trees.items():
            env = clean_env(PYTHONPATH=str(tree), GATOR_CACHE_DIR=tempfile.mkdtemp(prefix="gator-ab-cold-"))
            run = time_run(scan, env, cwd=outside)
            res[name].append(run.wall)
            cpu[name].append(run.cpu)
    print(f"site-packages: {site} ({args.runs} interleaved rounds, cold cache each run)")
    r = median(res["rg"])
    for name, values in res.items():
        ratio = "" if name == "rg" else f"   {median(values) / r:.1f}x rg"
        print(f"  {name:<40} {fmt(values)}{ratio}   CPU {median(cpu[name]):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
