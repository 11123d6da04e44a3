"""Fixtures for install tests: one tiny SDXL-layout repo per session, a fake Hub serving it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

SDXL_REPO = "stabilityai/stable-diffusion-xl-base-1.0"


@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny SDXL-layout pipeline (built once: generating needs torch + diffusers imports)."""
    pytest.importorskip("torch")
    from tiny_models import make_tiny_sdxl

    return make_tiny_sdxl(tmp_path_factory.mktemp("repo") / "sdxl")


@pytest.fixture()
def hub(tiny_sdxl: Path) -> Iterator[object]:
    """A fake Hub on 127.0.0.1 serving the tiny pipeline as stabilityai/stable-diffusion-xl-base-1.0."""
    from fake_hub import FakeHub

    with FakeHub() as server:
        server.add(SDXL_REPO, tiny_sdxl)
        yield server


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    """A folder per test holding the cache and the lock file."""
    (tmp_path / "cache").mkdir()
    return tmp_path


def copy_tree(src: Path, dst: Path) -> Path:
    """Copy a repo folder (to modify it without touching the session fixture)."""
    shutil.copytree(src, dst)
    return dst
