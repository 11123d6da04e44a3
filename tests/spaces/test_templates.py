"""`gator space template`: the trackio starter is complete, valid and its logger works."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from gator_setup.errors import InputError, UnknownNameError
from gator_setup.spaces.frontmatter import resolve
from gator_setup.spaces.templates import available, write


def test_trackio_writes_a_valid_gradio_space(tmp_path: Path) -> None:
    written = write("trackio", tmp_path / "dash")
    names = {p.relative_to(tmp_path / "dash").as_posix() for p in written}
    assert {"app.py", "requirements.txt", "README.md", "tracker.py"} <= names
    root = tmp_path / "dash"
    r = resolve((root / "README.md").read_text(), names, lambda p: (root / p).read_text(), None, "dash")
    assert (r.sdk, r.app_file, r.added) == ("gradio", "app.py", ())
    assert "gradio" in (root / "requirements.txt").read_text()
    for py in ("app.py", "tracker.py"):
        compile((root / py).read_text(), py, "exec")


def test_trackio_logger_round_trip(tmp_path: Path) -> None:
    write("trackio", tmp_path)
    spec = importlib.util.spec_from_file_location("tracker_t", tmp_path / "tracker.py")
    assert spec and spec.loader
    tracker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tracker)
    run = tracker.init("mine", folder=tmp_path / "metrics")
    run.log({"loss": 0.5})
    run.log({"loss": 0.25, "acc": 1})
    rows = tracker.read_metrics(tmp_path / "metrics")
    mine = [(r["step"], r["metric"], r["value"]) for r in rows if r["run"] == "mine"]
    assert mine == [(0, "loss", 0.5), (1, "loss", 0.25), (1, "acc", 1.0)]
    assert any(r["run"] == "example-run" for r in rows)


def test_refuses_to_overwrite_and_unknown_names(tmp_path: Path) -> None:
    write("trackio", tmp_path)
    with pytest.raises(InputError, match="--force"):
        write("trackio", tmp_path)
    write("trackio", tmp_path, force=True)
    with pytest.raises(UnknownNameError, match="trackio"):
        write("trackiox", tmp_path / "x")
    assert available() == ["trackio"]
