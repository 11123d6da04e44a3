"""Shared test setup: markers that skip cleanly, a clean environment for CLI runs."""

from __future__ import annotations

import importlib.util

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # tqdm's monitor thread (started by the first progress bar: hub downloads, model saving)
    # would live for the rest of the session; any live thread stops `gator scan` from forking
    # its worker processes, and the tests that check those would fail
    try:
        import tqdm
    except ImportError:
        return
    tqdm.tqdm.monitor_interval = 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    has_torch = importlib.util.find_spec("torch") is not None
    for item in items:
        # get_closest_marker, not item.keywords: keywords also hold folder names (a checkout in .../gpu/).
        if item.get_closest_marker("torch") and not has_torch:
            item.add_marker(pytest.mark.skip(reason="torch is not installed (pip install torch==2.13.0)"))
        if item.get_closest_marker("gpu"):
            item.add_marker(pytest.mark.skip(reason="needs a real GPU; CI has none"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No colour, no real tokens, and a private gator cache for every test."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path_factory.mktemp("gator-cache")))
    # Import analyses depend only on distribution name+version: one folder for the whole session
    # keeps the doctor tests from re-parsing transformers for every test.
    monkeypatch.setenv("GATOR_IMPORTS_CACHE", str(tmp_path_factory.getbasetemp() / "gator-imports-cache"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "GATOR_DEBUG"):
        monkeypatch.delenv(name, raising=False)
