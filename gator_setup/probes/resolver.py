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


def uv_command() -> list[str] | None:
    """uv on PATH, else the `uv` module of this interpreter; None when neither exists."""
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        from uv import find_uv_bin

        return [str(find_uv_bin())]
    except Exception:  # the module may be absent or broken
        return None


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=RESOLVE_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise ResolveError(f"the resolver did not answer within {RESOLVE_TIMEOUT_S:.0f} s") from None
    except OSError as exc:
        raise ResolveError(f"cannot run the resolver: {exc}") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
        detail = " ".join(lines[-3:])[-400:] if lines else f"exit {proc.returncode}"
        raise ResolveError(f"cannot resolve {what}: {detail}")
    return proc


def dry_run(python: str, requirements: list[str]) -> list[Change]:
    """What installing REQS would change in the environment of `python` (nothing is installed).

    uv when it is there (fast); else pip's own `install --dry-run --report`, so a plain
    `pip install gator-setup` can resolve without asking the user to install anything first.
    """
    uv = uv_command()
    what = " ".join(requirements)
    if uv is None:
        return pip_dry_run(python, requirements)
    proc = _run([*uv, "pip", "install", "--dry-run", "--python", python, *requirements], what)
    return parse_dry_run(proc.stdout + proc.stderr)


_INSTALLED = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions() if d.metadata['Name']}))"
)


def parse_pip_report(report: str, installed: dict[str, str]) -> list[Change]:
    """Changes from `pip install --dry-run --report -` JSON, given the installed versions."""
    import json

    data = json.loads(report)
    out = []
    for item in data.get("install", []):
        meta = item.get("metadata", {})
        name = canonicalize_name(str(meta.get("name", "")))
        new = str(meta.get("version", ""))
        if name and new and installed.get(name) != new:
            out.append(Change(name, installed.get(name), new))
    return sorted(out, key=lambda c: c.name)


def pip_dry_run(python: str, requirements: list[str]) -> list[Change]:
    """The pip fallback of dry_run: the target's own pip, else this interpreter's pip --python."""
    import json

    what = " ".join(requirements)
    got = _run([python, "-c", _INSTALLED], "the installed distributions")
    installed: dict[str, str] = {str(canonicalize_name(k)): str(v) for k, v in json.loads(got.stdout).items()}
    args = ["install", "--dry-run", "--quiet", "--report", "-", "--disable-pip-version-check", *requirements]
    has_pip = (
        subprocess.run(
            [python, "-m", "pip", "--version"], capture_output=True, timeout=60, stdin=subprocess.DEVNULL
        ).returncode
        == 0
    )
    cmd = (
        [python, "-m", "pip", *args] if has_pip else [sys.executable, "-m", "pip", "--python", python, *args]
    )
    proc = _run(cmd, what)
    start = proc.stdout.find("{")
    if start < 0:
        raise ResolveError(f"cannot resolve {what}: pip printed no report")
    return parse_pip_report(proc.stdout[start:], installed)


if __name__ == "__main__":  # pragma: no cover - manual probe
    print(dry_run(sys.executable, sys.argv[1:]))
