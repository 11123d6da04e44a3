"""Capture and compare the JSON outputs of `gator scan` and `gator doctor`, cold and warm.

Used to show that a refactoring of the import analysis changes no output (issue 15): capture the
outputs of the original code once, then capture again after each change and compare.

    python tools/compare_outputs.py capture OUT --venv bad=/tmp/venvs/bad --venv bench=/tmp/venvs/bench \
        --project DIR
    python tools/compare_outputs.py compare BASELINE_DIR NEW_DIR

For each venv, four runs in this order: `scan` cold, `scan` warm, `doctor` cold, `doctor` warm
(`gator scan SITE --python VENV --format json`, `gator doctor --python VENV --json --project DIR`).
"Cold" is an empty gator cache ($GATOR_CACHE_DIR pointing to a fresh folder at a fixed path, so the
path printed in the report does not differ between captures; $GATOR_IMPORTS_CACHE unset); "warm"
reruns with the cache the cold run left. With `--variants`, the cold runs are repeated with the
serial and the pure-Python analysis, whose outputs must equal the default's. The only field dropped
is `seconds` (each check's run time); everything else, exit codes included, must match byte for
byte once the JSON is re-serialised with sorted keys.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

TIMING_KEYS = frozenset({"seconds"})
#: Extra runs of the cold case: name -> environment. Their outputs must equal the plain cold run's.
VARIANTS: dict[str, dict[str, str]] = {
    "serial": {"GATOR_NO_PARALLEL": "1"},
    "pure": {"GATOR_PURE_PYTHON": "1"},
}


def drop_timings(value: Any) -> Any:
    """The JSON value without any `seconds` key, at any depth."""
    if isinstance(value, dict):
        return {k: drop_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [drop_timings(v) for v in value]
    return value


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        raise SystemExit(f"{venv}: no lib/python3*/site-packages")
    return found[0]


def gator_cmd() -> list[str]:
    script = Path(sys.executable).with_name("gator")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gator_setup"]


def run_case(cmd: list[str], cache: Path, extra: dict[str, str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATOR_")}
    env.update(NO_COLOR="1", GATOR_CACHE_DIR=str(cache), **extra)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    try:
        body: Any = drop_timings(json.loads(proc.stdout))
    except ValueError:
        body = {"unparsable stdout": proc.stdout[-2000:], "stderr": proc.stderr[-2000:]}
    return {"cmd": cmd, "rc": proc.returncode, "output": body}


def capture(out: Path, venvs: dict[str, Path], project: Path, cache_base: Path, variants: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    gator = gator_cmd()
    for name, venv in venvs.items():
        commands = {
            "scan": [*gator, "scan", str(site_packages(venv)), "--python", str(venv), "--format", "json"],
            "doctor": [*gator, "doctor", "--python", str(venv), "--json", "--project", str(project)],
        }
        for what, cmd in commands.items():
            runs = [("cold", {}), ("warm", {})]
            if variants:
                runs += [(f"cold-{v}", env) for v, env in VARIANTS.items()]
            for label, extra in runs:
                cache = cache_base / f"{name}-{what}"  # the warm run reuses what the cold one left
                if label.startswith("cold"):
                    shutil.rmtree(cache, ignore_errors=True)
                    cache.mkdir(parents=True)
                result = run_case(cmd, cache, extra)
                target = out / f"{name}.{what}.{label}.json"
                target.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
                print(f"{target.name}: rc={result['rc']}", file=sys.stderr)


def compare(base: Path, new: Path) -> int:
    """0 when every output of `new` equals the one of `base` (variants against the plain cold run)."""
    failures = 0
    compared = 0
    for path in sorted(new.glob("*.json")):
        name, what, label = path.name.split(".")[:3]
        ref_label = "cold" if label.startswith("cold-") else label
        ref = base / f"{name}.{what}.{ref_label}.json"
        if not ref.is_file():
            print(f"MISSING in baseline: {ref.name}")
            failures += 1
            continue
        got, want = json.loads(path.read_text()), json.loads(ref.read_text())
        if label != ref_label:  # the doctor echoes the GATOR_* variables it was run with
            env = got["output"].get("context", {}).get("env", {})
            for key in VARIANTS[label.removeprefix("cold-")]:
                env.pop(key, None)
        compared += 1
        if (got["rc"], got["output"]) != (want["rc"], want["output"]):
            failures += 1
            print(f"DIFFERS: {path.name} vs {ref.name} (rc {got['rc']} vs {want['rc']})")
            a = json.dumps(want["output"], indent=1, sort_keys=True).splitlines()
            b = json.dumps(got["output"], indent=1, sort_keys=True).splitlines()
            import difflib

            for line in list(difflib.unified_diff(a, b, ref.name, path.name, lineterm="", n=2))[:40]:
                print("   ", line)
    for path in sorted(base.glob("*.json")):
        if not (new / path.name).is_file():
            print(f"MISSING in new capture: {path.name}")
            failures += 1
    print(f"{compared} outputs compared, {failures} difference(s)")
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    cap = sub.add_parser("capture")
    cap.add_argument("out", type=Path)
    cap.add_argument("--venv", action="append", required=True, help="NAME=PATH (repeatable)")
    cap.add_argument("--project", type=Path, required=True)
    cap.add_argument("--cache-base", type=Path, default=Path("/tmp/gator-compare-cache"))
    cap.add_argument("--variants", action="store_true", help="also the serial and pure-Python cold runs")
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("base", type=Path)
    cmp_.add_argument("new", type=Path)
    args = ap.parse_args()
    if args.cmd == "compare":
        return compare(args.base, args.new)
    venvs = {}
    for spec in args.venv:
        name, _, path = spec.partition("=")
        venvs[name] = Path(path).resolve()
    capture(args.out, venvs, args.project.resolve(), args.cache_base, args.variants)
    return 0


if __name__ == "__main__":
    sys.exit(main())
