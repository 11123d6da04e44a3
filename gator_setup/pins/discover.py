"""Find and read a project's pin files (pyproject, requirements, constraints, lock files)."""

from __future__ import annotations

from pathlib import Path

from gator_setup.errors import InputError
from gator_setup.pins.locks import parse_lock
from gator_setup.pins.model import PinSet
from gator_setup.pins.pyproject import parse_pyproject
from gator_setup.pins.requirements_txt import parse_requirements_file

LOCK_NAMES = ("uv.lock", "poetry.lock")


def file_kind(path: Path) -> str:
    """pyproject, lock, constraints or requirements, from the file name."""
    name = path.name
    if name == "pyproject.toml":
        return "pyproject"
    if name in LOCK_NAMES or (name.startswith("pylock") and name.endswith(".toml")):
        return "lock"
    if name.endswith(".toml"):
        raise InputError(
            path, "unsupported TOML file (expected pyproject.toml, uv.lock, pylock*.toml, poetry.lock)"
        )
    if name.startswith("constraint"):
        return "constraints"
    return "requirements"


def discover(root: Path) -> list[Path]:
    """The pin files of a project folder, in a stable order (relative to `root` when possible)."""
    found: list[Path] = []
    if (root / "pyproject.toml").is_file():
        found.append(root / "pyproject.toml")
    for folder in (root, root / "requirements"):
        if folder.is_dir():
            found += sorted(p for p in folder.glob("requirements*.txt") if p.is_file())
            found += sorted(p for p in folder.glob("constraints*.txt") if p.is_file())
            if folder.name == "requirements":
                found += sorted(p for p in folder.glob("*.txt") if p.is_file() and p not in found)
    for name in LOCK_NAMES:
        if (root / name).is_file():
            found.append(root / name)
    found += sorted(p for p in root.glob("pylock*.toml") if p.is_file())
    return found


def load_pins(files: list[Path]) -> PinSet:
    """Parse every file; includes are followed, each file is read once."""
    pins = PinSet(declarations=[], files=[])
    seen: set[Path] = set()
    for f in files:
        if not f.exists():
            raise InputError(f, "file not found")
        kind = file_kind(f)
        pins.files.append(str(f))
        if kind == "pyproject":
            decls, rp = parse_pyproject(f)
            pins.declarations += decls
            pins.requires_python = pins.requires_python or rp
        elif kind == "lock":
            pins.declarations += parse_lock(f)
        else:
            pins.declarations += parse_requirements_file(
                f, kind="constraint" if kind == "constraints" else "requirement", _seen=seen
            )
    return pins
