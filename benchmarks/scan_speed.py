"""`gator scan` of a venv's site-packages vs `rg` searching the same import names.

Usage (from the repository root, with gator installed in the running interpreter):
    python benchmarks/scan_speed.py --venv /tmp/benchvenv --runs 3

rg searches for import statements of the watched providers (the same names gator checks);
gator parses, resolves every import against the installed providers and judges guards.
"cold": empty gator cache for each run; "warm": the per-tree cache of the previous run. Each
round runs the cold scan first, then rg and the warm scan, in alternating order.
The pre-filter is the native one when ahocorasick_rs (the `fast` extra) is installed, else pure
Python; the byte loops are the C helpers when they were built at install (a C compiler was
found); GATOR_PURE_PYTHON=1 forces pure Python for both (the script prints which ran, and
whether gator is an editable install, whose import hook costs each process ~10 ms here).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from _common import clean_env, ensure_venv, fmt, gator_cmd, median, time_run

NAMES = "huggingface_hub|transformers|diffusers|torch|numpy|accelerate|safetensors|peft"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", type=Path, default=Path("/tmp/gator-bench-venv"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    venv = ensure_venv(args.venv)
    site = next((venv / "lib").glob("python3*/site-packages"))
    rg = shutil.which("rg")
    if rg is None:
        print("rg not found: apt-get install -y ripgrep", file=sys.stderr)
        return 2
    rg_cmd = [rg, "--type", "py", "-n", "-e", rf"(from|import)\s+({NAMES})\b", str(site)]
    scan = [*gator_cmd(), "scan", str(site), "--python", str(venv)]
    warm_cache = tempfile.mkdtemp(prefix="gator-scan-warm-")
    time_run(rg_cmd, clean_env())
    time_run(scan, clean_env(GATOR_CACHE_DIR=warm_cache))  # fills the warm cache
    res: dict[str, list[float]] = {"rg": [], "gator scan (cold cache)": [], "gator scan (warm cache)": []}
    cpu: dict[str, list[float]] = {name: [] for name in res}

    def timed(name: str, cmd: list[str], env: dict[str, str]) -> None:
        run = time_run(cmd, env)
        res[name].append(run.wall)
        cpu[name].append(run.cpu)

    for i in range(args.runs):
        timed(
            "gator scan (cold cache)",
            scan,
            clean_env(GATOR_CACHE_DIR=tempfile.mkdtemp(prefix="gator-scan-cold-")),
        )
        # The process right after a cold scan was seen to run slower here, so rg and the warm
        # scan take that place in turn.
        pair = [
            ("rg", rg_cmd, clean_env()),
            ("gator scan (warm cache)", scan, clean_env(GATOR_CACHE_DIR=warm_cache)),
        ]
        for name, cmd, env in pair if i % 2 == 0 else reversed(pair):
            timed(name, cmd, env)
    n = sum(1 for _ in site.rglob("*.py"))
    print(f"site-packages: {site} ({n} .py files, {args.runs} runs each)")
    print(f"  pre-filter: {_prefilter()}")
    for name, values in res.items():
        print(
            f"  {name:<26} {fmt(values)}   CPU {median(cpu[name]):.3f} s (user + system, children included)"
        )
    r = median(res["rg"])
    print(f"  cold / rg = {median(res['gator scan (cold cache)']) / r:.1f}x   (target: within 3x)")
    print(f"  warm / rg = {median(res['gator scan (warm cache)']) / r:.1f}x   (target: below 1x)")
    return 0


def _prefilter() -> str:
    """Which needle search and byte loops the gator under test uses (it runs in this
    interpreter's environment), and how it is installed."""
    try:
        import gator_setup
        from gator_setup.analysis import speedups
        from gator_setup.analysis.needles import native_available
    except ImportError:
        return "unknown (gator_setup not importable here)"
    search = "native (ahocorasick_rs)" if native_available() else "pure Python"
    loops = "C helpers" if speedups.native() is not None else "pure-Python loops"
    editable = "site-packages" not in Path(gator_setup.__file__).parts
    return f"{search}, {loops}; gator installed {'editable' if editable else 'as a package'}"


if __name__ == "__main__":
    sys.exit(main())
