"""core.scan: the providers and walks are the same whichever way the interpreter's answer came."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from gator_setup.core import scan as core_scan
from gator_setup.probes import python_env


def _providers_and_walks(tree: Path, ready: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as m:
        m.setattr(python_env, "answer_ready", lambda _path: ready)
        python_env.start_query(sys.executable)
        opts = core_scan.ScanOptions(paths=(str(tree),), python=sys.executable)
        providers, snap, walks = core_scan._providers_and_walks(opts)
    return (
        sorted((p.module, p.version, str(p.root)) for p in providers),
        snap.interpreter.executable,
        sorted(snap.distributions),
        walks,
    )


def test_asked_in_this_thread_or_beside_the_walk_gives_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "m.py").write_text("import os\n")
    ahead = _providers_and_walks(tree, True, monkeypatch)  # answered already: no thread
    beside = _providers_and_walks(tree, False, monkeypatch)  # walked while the answer comes
    assert ahead == beside
    assert [item[1] for item in ahead[3][str(tree)][0]] == ["pkg/m.py"]
