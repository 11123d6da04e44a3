"""Parse the dependency tables of pyproject.toml with the line each requirement is written on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from gator_setup.errors import InputError
from gator_setup.pins.model import Declaration


class _LineFinder:
    """Finds the line of each quoted requirement string, in file order, so duplicates get their own."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.used: dict[str, int] = {}

    def line_of(self, value: str, after: int = 0) -> int | None:
        pattern = re.compile(r"""(["'])""" + re.escape(value) + r"\1")
        start = max(self.used.get(value, 0), after)
        for i in range(start, len(self.lines)):
            if pattern.search(self.lines[i]):
                self.used[value] = i + 1
                return i + 1
        return None

    def table_line(self, header: str) -> int:
        pat = re.compile(r"^\s*\[\s*" + re.escape(header).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
        for i, line in enumerate(self.lines):
            if pat.match(line):
                return i
        return 0


def _requirements(
    path: Path,
    finder: _LineFinder,
    values: Any,
    where: str,
    *,
    kind: str = "requirement",
    group: str | None = None,
    after: int = 0,
) -> list[Declaration]:
    if not isinstance(values, list):
        raise InputError(path, f"{where} must be a list of requirement strings")
    out: list[Declaration] = []
    for value in values:
        if isinstance(value, dict):
            continue  # {include-group = "..."} is expanded by the caller
        if not isinstance(value, str):
            raise InputError(path, f"{where}: {value!r} is not a requirement string")
        decl = Declaration.parse(
            value, path, finder.line_of(value, after), kind=kind, where=where, group=group
        )
        if decl is not None:
            out.append(decl)
    return out


def _expand_groups(path: Path, groups: dict[str, Any], name: str, stack: tuple[str, ...] = ()) -> list[Any]:
    """A dependency group's entries with `{include-group = ...}` replaced by the included entries."""
    if name in stack:
        raise InputError(path, f"dependency group {name!r} includes itself")
    if name not in groups:
        raise InputError(path, f"dependency group {name!r} is included but not defined")
    out: list[Any] = []
    for item in groups[name]:
        if isinstance(item, dict) and "include-group" in item:
            out += _expand_groups(path, groups, str(item["include-group"]), (*stack, name))
        else:
            out.append(item)
    return out


def parse_pyproject(path: Path) -> tuple[list[Declaration], SpecifierSet | None]:
    """Declarations of [project] dependencies, optional dependencies, dependency groups, uv constraints."""
    from gator_setup.tomlread import load_toml

    data = load_toml(path)
    text = path.read_text(encoding="utf-8")
    finder = _LineFinder(text)
    project = data.get("project", {})
    decls: list[Declaration] = []
    after = finder.table_line("project")
    decls += _requirements(path, finder, project.get("dependencies", []), "project.dependencies", after=after)
    after = finder.table_line("project.optional-dependencies")
    for extra, values in project.get("optional-dependencies", {}).items():
        decls += _requirements(
            path, finder, values, f"optional-dependencies.{extra}", group=f"extra:{extra}", after=after
        )
    groups = data.get("dependency-groups", {})
    if not isinstance(groups, dict):
        raise InputError(path, "[dependency-groups] must be a table")
    after = finder.table_line("dependency-groups")
    for name in groups:
        decls += _requirements(
            path,
            finder,
            _expand_groups(path, groups, name),
            f"dependency-groups.{name}",
            group=f"group:{name}",
            after=after,
        )
    uv = data.get("tool", {}).get("uv", {})
    after = finder.table_line("tool.uv")
    decls += _requirements(
        path,
        finder,
        uv.get("constraint-dependencies", []),
        "tool.uv.constraint-dependencies",
        kind="constraint",
        after=after,
    )
    requires_python = None
    rp = project.get("requires-python")
    if rp is not None:
        try:
            requires_python = SpecifierSet(str(rp))
        except InvalidSpecifier:
            raise InputError(path, f"invalid requires-python {rp!r}", line=finder.line_of(str(rp))) from None
    return decls, requires_python
