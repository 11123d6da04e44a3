"""Real virtual environments for end-to-end tests, built with uv and cached by their spec.

make_venv("diffusers==0.25.0", "huggingface_hub==0.26.0") -> Path of the venv. Venvs live under
$GATOR_TEST_VENVS or the repository's `.venvs/` (git-ignored), one folder per sorted spec hash,
so a second test run reuses them. A half-built venv is never reused: the build happens in a
folder marked complete only after `uv pip install` succeeded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PYTHON = os.environ.get("GATOR_TEST_PYTHON", f"{sys.version_info.major}.{sys.version_info.minor}")


def venvs_dir() -> Path:
    return Path(os.environ.get("GATOR_TEST_VENVS") or REPO / ".venvs")


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        pytest.skip("uv is not installed (pip install uv)")
    return found


def make_venv(*requirements: str, extra_args: tuple[str, ...] = ()) -> Path:
    """A venv with exactly `requirements` installed (plus their dependencies); cached by spec."""
    spec = "\n".join([PYTHON, *sorted(requirements), *extra_args])
    digest = hashlib.sha256(spec.encode()).hexdigest()[:12]
    label = "-".join(r.replace("==", "").replace("<", "lt").replace(">", "gt") for r in sorted(requirements))
    target = venvs_dir() / f"{label[:60]}-{digest}"
    if (target / ".complete").is_file():
        return target
    uv = _uv()
    # An unfinished folder (no .complete marker) is from an interrupted build: start over.
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([uv, "venv", "-q", "--python", PYTHON, str(target)], check=True, capture_output=True)
    proc = subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(target / "bin" / "python"), *extra_args, *requirements],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        pytest.skip(f"cannot build venv {requirements}: {proc.stderr.strip()[-300:]}")
    (target / ".complete").write_text(spec)
    return target
