"""Older huggingface_hub generations (0.x, and 1.x before 1.30 which read metadata from redirects
differently) against the mirror, each in its own venv: the same script as tools/hub_compat_matrix.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.venv
@pytest.mark.slow
def test_old_hub_clients_download_and_upload() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "hub_compat_matrix.py"), "0.20.3", "1.29.0", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    rows = json.loads(proc.stdout)
    assert [r["version"] for r in rows] == ["0.20.3", "1.29.0"], proc.stderr[-2000:]
    for r in rows:
        failed = {k: v for k, v in r.items() if k not in ("version", "requested") and v != "ok"}
        assert not failed, (r["version"], failed)
