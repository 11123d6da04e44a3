"""CLI test fixtures: the tiny SDXL-layout repo (shared with tests/installers)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny SDXL-layout pipeline (needs torch + diffusers)."""
    pytest.importorskip("torch")
    from tiny_models import make_tiny_sdxl

    return make_tiny_sdxl(tmp_path_factory.mktemp("repo") / "sdxl")
