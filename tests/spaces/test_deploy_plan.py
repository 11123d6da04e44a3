"""plan(): every local check before any prompt or network call."""

from __future__ import annotations

from pathlib import Path

import pytest

from gator_setup.errors import GatorError
from gator_setup.spaces.deploy import DeployOptions, plan


def test_secret_prompt_comes_after_every_other_check(tmp_path: Path) -> None:
    asked: list[str] = []

    def source(key: str) -> str:
        asked.append(key)
        return "v"

    bad = [
        DeployOptions(tmp_path / "missing", "me/demo", secrets=("TOKEN_A",)),
        DeployOptions(tmp_path, "me/demo", secrets=("TOKEN_A",)),  # empty folder
        DeployOptions(tmp_path, "me/demo", secrets=("TOKEN_A",), variables=("TOKEN_A=1",)),
    ]
    for opts in bad:
        with pytest.raises(GatorError):
            plan(opts, tmp_path / "stage", source)
    (tmp_path / "lib.py").write_text("x = 1\n")
    with pytest.raises(GatorError, match="Cannot tell"):
        plan(DeployOptions(tmp_path, "me/demo", secrets=("TOKEN_A",)), tmp_path / "stage2", source)
    assert asked == []


def test_plan_describes_the_filled_copy(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.html").write_text("<a href='{SPACE_URL}'>{SPACE_ID}</a>\n")
    p = plan(DeployOptions(src, "me/site", endpoint="http://127.0.0.1:1/"), tmp_path / "stage")
    assert (p.sdk, p.app_file, p.url) == ("static", "index.html", "http://127.0.0.1:1/spaces/me/site")
    assert [(f.path, f.filled, f.generated) for f in p.files] == [
        ("README.md", False, True),
        ("index.html", True, False),
    ]
    staged = (tmp_path / "stage" / "index.html").read_text()
    assert staged == "<a href='http://127.0.0.1:1/spaces/me/site'>me/site</a>\n"
    assert p.total_bytes == sum(f.size for f in p.files)
