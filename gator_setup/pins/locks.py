"""Read exact versions from lock files: uv.lock, pylock.toml (PEP 751), poetry.lock."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gator_setup.errors import InputError
from gator_setup.findings import Location
from gator_setup.pins.model import Declaration


def parse_lock(path: Path) -> list[Declaration]:
    """One `lock` declaration (`==version`) per locked package entry."""
    from gator_setup.tomlread import load_toml

    data = load_toml(path)
    # uv.lock and poetry.lock use [[package]]; PEP 751 pylock uses [[packages]].
    entries = data.get("packages" if path.name.startswith("pylock") else "package", [])
    if not isinstance(entries, list):
        raise InputError(path, "expected an array of [[package]] tables")
    lines = path.read_text(encoding="utf-8").splitlines()
    name_lines: dict[str, list[int]] = {}
    for i, text in enumerate(lines, 1):
        m = re.match(r"""^\s*name\s*=\s*["']([^"']+)["']""", text)
        if m:
            name_lines.setdefault(canonicalize_name(m.group(1)), []).append(i)
    used: dict[str, int] = {}
    out: list[Declaration] = []
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry:
            raise InputError(path, "a locked package has no name")
        name = canonicalize_name(str(entry["name"]))
        candidates = name_lines.get(name, [])
        idx = used.get(name, 0)
        line = candidates[idx] if idx < len(candidates) else None
        used[name] = idx + 1
        raw_version = entry.get("version")
        if raw_version is None:
            continue  # a path or VCS dependency without a version: nothing to compare
        try:
            version = Version(str(raw_version))
        except InvalidVersion:
            raise InputError(path, f"invalid version {raw_version!r} for {name}", line=line) from None
        out.append(
            Declaration(
                name=name,
                specifier=SpecifierSet(f"=={version}"),
                location=Location(str(path), line),
                raw=f"{name}=={version}",
                kind="lock",
            )
        )
    return out
