"""write_cache_json: atomic, best effort, and no temp file left behind when it cannot write; the
per-distribution entries and the one-listing answer of which are cached."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gator_setup.cachedir import dist_file, not_cached, write_cache_json
from gator_setup.envfacts import Distribution


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


def test_not_cached_is_what_has_no_entry(tmp_path: Path) -> None:
    dists = [Distribution("torch", "2.13.0+cpu"), Distribution("Foo_Bar", "1.0"), Distribution("x", "1!2.0")]
    folder = tmp_path / "kind" / "v1"
    assert not_cached(folder, dists) == dists  # (no folder yet: a cold cache)
    write_cache_json(dist_file(folder, dists[1]), [])
    write_cache_json(dist_file(folder, dists[2]), [])
    assert [p.name for p in sorted(folder.iterdir())] == ["foo-bar-1.0.json", "x-1_2.0.json"]
    assert not_cached(folder, dists) == [dists[0]]
    # the same entry per distribution as a file's own stat tells
    assert [d for d in dists if not dist_file(folder, d).is_file()] == not_cached(folder, dists)
