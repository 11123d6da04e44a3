"""[tool.gator] settings: known keys load, unknown keys and bad types are one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gator_setup.core.config import load_settings
from gator_setup.errors import InputError


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(text)
    return tmp_path


def test_settings_load(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, '[tool.gator]\nignore = ["GTR102"]\nprofile = "cpu"\nstrict = true\n'))
    assert s.ignore == ("GTR102",) and s.profile == "cpu" and s.strict


def test_no_pyproject_or_no_table_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path).ignore == ()
    assert load_settings(write(tmp_path, "[project]\nname='x'\n")).profile is None


def test_unknown_key_is_rejected_with_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_settings(write(tmp_path, "[tool.gator]\nignore = []\nignroe = []\n"))
    assert "ignroe" in str(err.value) and ":3:" in str(err.value)


def test_wrong_type_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="must be a list"):
        load_settings(write(tmp_path, '[tool.gator]\nignore = "GTR102"\n'))


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_settings(write(tmp_path, "[tool.gator]\nignore = [\n"))
    assert "pyproject.toml:" in str(err.value) and "invalid TOML" in str(err.value)
