"""write_cache_json: atomic, best effort, and no temp file left behind when it cannot write."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gator_setup.cachedir import write_cache_json


def test_writes_json_atomically(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.json"
    write_cache_json(target, {"x": [1, 2]})
    assert json.loads(target.read_text()) == {"x": [1, 2]}
    assert [p.name for p in target.parent.iterdir()] == ["b.json"]


def test_failure_is_silent_and_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "c.json"
    target.write_text('{"old": true}')

    def refuse(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    write_cache_json(target, {"new": True})
    assert json.loads(target.read_text()) == {"old": True}  # the old cache is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]  # no .tmp- file left
    (tmp_path / "file").write_text("")
    write_cache_json(tmp_path / "file" / "x.json", {})  # parent is a file: nothing raised
