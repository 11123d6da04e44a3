"""README stays true: its checks table is generated from the registry, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from gator_setup.checks.registry import checks_markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_checks_table_is_in_sync_with_the_registry() -> None:
    m = re.search(r"<!-- checks-table -->\n(.*?)<!-- /checks-table -->", README.read_text(), re.S)
    assert m, "README.md lost its checks table markers"
    assert m.group(1) == checks_markdown_table(), "regenerate: python -m gator_setup.checks.registry"


def test_quick_start_commands_are_the_documented_ones() -> None:
    text = README.read_text()
    assert "pip install . && gator doctor" in text
    assert 'pip install -e ".[test]" && pytest' in text
