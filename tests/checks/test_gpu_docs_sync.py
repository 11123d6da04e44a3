"""docs/gpu.md lists exactly the GPU and profile checks that are registered."""

from __future__ import annotations

import re
from pathlib import Path

from gator_setup.checks import platform, profile

DOC = Path(__file__).resolve().parents[2] / "docs" / "gpu.md"


def test_every_gpu_check_is_documented_and_nothing_else() -> None:
    codes = {c.code for c in (*platform.CHECKS, *profile.CHECKS)}
    documented = set(re.findall(r"^\| (GTR\d{3}) \|", DOC.read_text(encoding="utf-8"), re.MULTILINE))
    assert documented == codes


def test_codes_are_in_their_families() -> None:
    assert all(200 <= int(c.code[3:]) <= 299 for c in platform.CHECKS)
    assert all(310 <= int(c.code[3:]) <= 319 for c in profile.CHECKS)
