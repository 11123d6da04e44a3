"""Per-project settings from `[tool.gator]` in pyproject.toml; unknown keys are rejected."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from gator_setup.errors import InputError
from gator_setup.tomlread import load_toml

#: key -> (type, meaning); the README's settings table is generated from this.
SETTINGS_KEYS: dict[str, tuple[type, str]] = {
    "ignore": (list, 'check codes never reported for this project, e.g. ["GTR102"]'),
    "profile": (str, 'profile applied when --profile is not given, e.g. "gator-rocm5.7"'),
    "paths": (list, "project source folders scanned for imports (default: the project folder)"),
    "exclude": (list, "glob patterns of project files not scanned"),
    "strict": (bool, "fail on warnings too (same as --strict)"),
}


class Settings(NamedTuple):
    """Validated `[tool.gator]` settings."""

    source: str | None = None
    ignore: tuple[str, ...] = ()
    profile: str | None = None
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    strict: bool = False
    raw: Mapping[str, Any] = MappingProxyType({})


def _find_line(path: Path, key: str) -> int | None:
    try:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip().startswith((f"{key} ", f"{key}=")):
                return i
    except OSError:
        pass
    return None


def load_settings(project_dir: str | Path | None) -> Settings:
    """Settings of the project in `project_dir` (defaults when it has no `[tool.gator]`)."""
    if project_dir is None:
        return Settings()
    path = Path(project_dir) / "pyproject.toml"
    if not path.is_file():
        return Settings()
    table = load_toml(path).get("tool", {}).get("gator")
    if table is None:
        return Settings(source=str(path))
    if not isinstance(table, dict):
        raise InputError(path, "[tool.gator] must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        norm = key.replace("-", "_")
        if norm not in SETTINGS_KEYS:
            known = ", ".join(sorted(SETTINGS_KEYS))
            raise InputError(
                path, f"unknown key {key!r} in [tool.gator] (known keys: {known})", line=_find_line(path, key)
            )
        expected, _ = SETTINGS_KEYS[norm]
        if not isinstance(value, expected) or (
            isinstance(value, list) and not all(isinstance(v, str) for v in value)
        ):
            raise InputError(
                path,
                f"[tool.gator] {key} must be a {expected.__name__}"
                + (" of strings" if expected is list else ""),
                line=_find_line(path, key),
            )
        values[norm] = tuple(value) if isinstance(value, list) else value
    return Settings(source=str(path), raw=dict(table), **values)
