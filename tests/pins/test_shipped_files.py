"""The pre-commit hook entry and the example workflow call check-pins as documented."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pre_commit_hook_entry() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "- id: gator-check-pins" in text and "entry: gator check-pins" in text
    pattern = re.search(r"files: (.+)", text.split("gator-check-pins", 1)[1])
    assert pattern is not None
    files = re.compile(pattern.group(1).strip())
    for name in ("pyproject.toml", "sub/requirements-dev.txt", "uv.lock", "pylock.toml", "poetry.lock"):
        assert files.search(name), name
    assert not files.search("README.md")


def test_example_workflow_uses_github_format() -> None:
    text = (ROOT / "examples/github-actions/gator-check-pins.yml").read_text()
    assert "gator check-pins --format github" in text
