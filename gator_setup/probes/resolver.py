"""Ask a resolver what installing some requirements would change, without installing anything."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from gator_setup.errors import GatorError

RESOLVE_TIMEOUT_S = 300.0
_LINE = re.compile(r"^\s*([+-])\s+([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


class ResolveError(GatorError):
    """The resolver refused the proposed change (conflict, unknown version, no network)."""


@dataclass(frozen=True)
class Change:
    """One distribution the resolver would add, remove or move to another version."""

    name: str  # canonical
    old: str | None
    new: str | None


def parse_dry_run(text: str) -> list[Change]:
    """Changes from `uv pip install --dry-run` output (` - name==old` / ` + name==new` lines)."""
    old: dict[str, str] = {}
    new: dict[str, str] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            (old if m.group(1) == "-" else new)[canonicalize_name(m.group(2))] = m.group(3)
    names = sorted(set(old) | set(new))
    return [Change(n, old.get(n), new.get(n)) for n in names if old.get(n) != new.get(n)]


def uv_command() -> list[str]:
    """uv on PATH, else the `uv` module of this interpreter (it ships in gator's test extra)."""
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        from uv import find_uv_bin

        return [str(find_uv_bin())]
    except Exception:  # the module may be absent or broken
        raise ResolveError(
            "--what-if needs uv to resolve without installing.", hint="pip install uv"
        ) from None


def dry_run(python: str, requirements: list[str]) -> list[Change]:
    """What `uv pip install REQS` would change in the environment of `python` (nothing is installed)."""
    cmd = [*uv_command(), "pip", "install", "--dry-run", "--python", python, *requirements]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=RESOLVE_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise ResolveError(f"the resolver did not answer within {RESOLVE_TIMEOUT_S:.0f} s") from None
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        detail = " ".join(lines[-3:])[-400:] if lines else f"exit {proc.returncode}"
        raise ResolveError(f"cannot resolve {' '.join(requirements)}: {detail}")
    return parse_dry_run(output)


if __name__ == "__main__":  # pragma: no cover - manual probe
    print(dry_run(sys.executable, sys.argv[1:]))
