"""Re-run every knowledge-base rule's reproduction in fresh venvs and check the outcome still holds.

Needs uv and PyPI, so it is not part of the test suite. Usage:

    python tools/reproduce_rules.py                  # every rule with a reproduction
    python tools/reproduce_rules.py torch-numpy2-abi # only these rule ids
    python tools/reproduce_rules.py --workdir /tmp/gator-repro --keep

Exit 0 when every case behaves as recorded, 1 otherwise (the mismatches are printed).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gator_setup.knowledge.rules import ReproCase, Reproduction, Rule, load_rules

_SITE = re.compile(r"\((?:/\S+?)/site-packages/(\S+)\)")


def normalize(line: str) -> str:
    """Drop the venv path from a traceback line: `(/tmp/x/.../site-packages/a.py)` -> `(.../a.py)`."""
    return _SITE.sub(r"(.../\1)", line.strip())


def run_case(repro: Reproduction, case: ReproCase, venv: Path) -> tuple[int, str, str]:
    """Build the venv, install, run; return (returncode, last line, whole output)."""
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run(["uv", "venv", "-q", str(venv), "--python", repro.python], check=True)
    py = venv / "bin" / "python"
    inst = subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(py), *case.install], capture_output=True, text=True
    )
    if inst.returncode:
        return -1, "install failed: " + inst.stderr.strip()[-300:], inst.stderr
    r = subprocess.run([str(py), "-c", repro.run], capture_output=True, text=True, timeout=600)
    out = r.stderr + r.stdout
    lines = [ln for ln in out.splitlines() if ln.strip()]
    return r.returncode, normalize(lines[-1]) if lines else "", out


def check_rule(rule: Rule, workdir: Path, keep: bool) -> list[str]:
    """Problems found re-running one rule (empty when everything still holds)."""
    assert rule.reproduction is not None
    problems: list[str] = []
    for i, case in enumerate(rule.reproduction.cases):
        venv = workdir / f"{rule.id}-{i}"
        rc, last, out = run_case(rule.reproduction, case, venv)
        label = f"{rule.id} [{case.expect}] {' '.join(case.install)}"
        if rc == -1:
            problems.append(f"{label}: {last}")
        elif case.expect == "ok" and rc != 0:
            problems.append(f"{label}: expected success, got rc={rc}: {last}")
        elif case.expect == "fail" and (rc == 0 or rule.error not in out):
            problems.append(f"{label}: expected {rule.error!r}, got rc={rc}: {last}")
        elif case.expect == "other" and (rc == 0 or rule.error in out):
            problems.append(f"{label}: expected another failure, got rc={rc}: {last}")
        else:
            drift = "" if last == case.observed else f"   (recorded: {case.observed})"
            print(f"ok   {label} -> {last}{drift}", flush=True)
        if not keep:
            shutil.rmtree(venv, ignore_errors=True)
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ids", nargs="*", help="rule ids to re-run (default: all)")
    ap.add_argument("--workdir", type=Path, help="where to build the venvs (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the venvs afterwards")
    args = ap.parse_args(argv)
    rules = [r for r in load_rules() if r.reproduction is not None and (not args.ids or r.id in args.ids)]
    unknown = set(args.ids) - {r.id for r in rules}
    if unknown:
        print(f"unknown rule id(s) or no reproduction: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gator-repro-"))
    workdir.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for rule in rules:
        problems += check_rule(rule, workdir, args.keep)
    for p in problems:
        print(f"FAIL {p}")
    print(f"{len(rules)} rule(s), {len(problems)} mismatch(es)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
