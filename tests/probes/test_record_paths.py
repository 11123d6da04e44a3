"""envfacts.record_paths reads a RECORD's first fields as csv.reader does, without csv where it can."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gator_setup.envfacts import record_paths


def _csv(text: str) -> list[str]:
    return [row[0] for row in csv.reader(io.StringIO(text)) if row]


@given(st.text(alphabet='ab/.,"\r\n ', max_size=80))
def test_same_as_csv_on_any_text(text: str) -> None:
    try:
        want = _csv(text)
    except csv.Error:  # (a carriage return inside an unquoted field: csv refuses, so must we)
        try:
            record_paths(text)
        except csv.Error:
            return
        raise AssertionError("csv refused this text; record_paths read it") from None
    assert record_paths(text) == want


def test_same_as_csv_on_every_installed_record() -> None:
    records = [p for entry in sys.path for p in Path(entry).glob("*.dist-info/RECORD")]
    assert records
    for record in records:
        text = record.read_text("utf-8", "replace")
        assert record_paths(text) == _csv(text), record


def test_pip_style_lines() -> None:
    text = 'pkg/__init__.py,sha256=abc,12\r\n"odd,name.py",sha256=def,3\r\npkg-1.0.dist-info/RECORD,,\r\n'
    assert record_paths(text) == ["pkg/__init__.py", "odd,name.py", "pkg-1.0.dist-info/RECORD"]
    assert record_paths("a.py,x,1\n\nb.py\n") == ["a.py", "b.py"]
