"""Third-party checks come from the `gator_setup.checks` entry-point group, found as
importlib.metadata finds them; a broken plugin is a failure to report, never a crash."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from gator_setup.checks.registry import ENTRY_POINT_GROUP, _entry_points, all_checks, plugin_checks

PLUGIN = """
from typing import ClassVar
from gator_setup.checks.base import Check

class Mine(Check):
    code: ClassVar[str] = "GTR901"
    title: ClassVar[str] = "A plugin's check"
    category: ClassVar[str] = "gator"

    def run(self, env):
        return []

CHECKS = (Mine,)
"""


def _dist(site: Path, name: str, entry_points_txt: str | None) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if entry_points_txt is not None:
        (info / "entry_points.txt").write_text(entry_points_txt)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "gator_plugin_mod.py").write_text(PLUGIN)
    _dist(
        site,
        "gator_plugin",
        f"[{ENTRY_POINT_GROUP}]\nmine = gator_plugin_mod:CHECKS\nbad = gator_plugin_mod:nope\n",
    )
    _dist(site, "other_tool", "[console_scripts]\nother = other:main\n")
    _dist(site, "plain", None)
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    monkeypatch.delitem(sys.modules, "gator_plugin_mod", raising=False)
    return site


def test_plugins_are_found_as_importlib_metadata_finds_them(site: Path) -> None:
    ours = sorted((ep.name, ep.value) for ep in _entry_points(ENTRY_POINT_GROUP))
    theirs = sorted((ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP))
    assert ours == theirs == [("bad", "gator_plugin_mod:nope"), ("mine", "gator_plugin_mod:CHECKS")]


def test_a_plugin_check_is_registered_and_a_broken_one_reported(site: Path) -> None:
    found, failures = plugin_checks()
    assert [c.code for c in found] == ["GTR901"]
    assert [f.name for f in failures] == ["bad"] and "AttributeError" in failures[0].error
    checks, _ = all_checks()
    assert "GTR901" in {c.code for c in checks}
