"""The per-tree index's typed records read back exactly what they wrote, and refuse damaged rows."""

from __future__ import annotations

import json
from pathlib import Path

from gator_setup.analysis.treeindex import FORMAT, DistEntry, FileEntry, Row, TreeIndex


def test_records_round_trip_through_the_json_layout(tmp_path: Path) -> None:
    files = {
        "a.py": FileEntry(10, 20),
        "b.py": FileEntry(11, 21, {"path": "b.py"}, [["ref", "missing-name", "x"]]),
    }
    rows = [Row("demo/c.py", FileEntry(1, 2)), Row("demo/d.py"), Row("demo/e.py", FileEntry(3, 4, None, []))]
    top = DistEntry("demo-1.0.dist-info", [1, 2, 3], 5, rows)
    data = TreeIndex.to_json(files, {"demo": top})
    assert data["files"] == {"a.py": [10, 20], "b.py": [11, 21, *files["b.py"][2:]]}
    # a row found irrelevant is dropped (only counted), an unreadable one (None) is kept to be retried
    assert data["tops"]["demo"] == ["demo-1.0.dist-info", [1, 2, 3], 5, [["demo/d.py", None]]]
    path = tmp_path / "index.json"
    path.write_text(json.dumps(data))
    index = TreeIndex.load(path)
    assert index.raw == data
    assert index.unchanged("a.py", [10, 20]) == files["a.py"] and not files["a.py"].relevant
    assert index.unchanged("b.py", [11, 21]) == files["b.py"] and files["b.py"].relevant
    assert index.unchanged("a.py", [10, 99]) is None and index.unchanged("a.py", []) is None
    got = index.top("demo")
    assert got is not None and got[:3] == ("demo-1.0.dist-info", [1, 2, 3], 5)
    assert [(r.rel, r.entry) for r in got.rows] == [("demo/d.py", None)]


def test_damaged_entries_are_misses(tmp_path: Path) -> None:
    assert FileEntry.from_json([1, 2, 3]) is None
    assert FileEntry.from_json(["1", 2]) is None
    assert FileEntry.from_json([1, 2, None, "not a list"]) is None
    assert FileEntry.from_json([1, 2], full=True) is None
    assert DistEntry.from_json(["d", [1], 1, [["a.py", [1, 2]]]]) is None  # a row is a full entry
    assert DistEntry.from_json(["d", [1], 1, ["junk"]]) is None
    assert DistEntry.from_json(["d", [1], "1", []]) is None
    path = tmp_path / "index.json"
    for text in ("{not json", json.dumps({"v": FORMAT + 1, "files": {}, "tops": {}}), "[]"):
        path.write_text(text)
        assert TreeIndex.load(path) == TreeIndex({}, {}, None)
