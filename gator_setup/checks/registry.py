"""Where checks come from: the built-in tuple and the `gator_setup.checks` entry-point group."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from gator_setup.checks.base import Check

ENTRY_POINT_GROUP = "gator_setup.checks"

#: Modules holding built-in checks; each exposes `CHECKS: tuple[type[Check], ...]`.
BUILTIN_MODULES: tuple[str, ...] = (
    "gator_setup.checks.environment",
    "gator_setup.checks.requirements",
    "gator_setup.checks.known_issues",
    *("gator_setup.checks.platform", "gator_setup.checks.profile"),
    "gator_setup.checks.imports",
    "gator_setup.checks.deprecations",
    "gator_setup.checks.numpy_abi",
)


@dataclass(frozen=True)
class PluginFailure:
    """A third-party entry point that could not be loaded (reported as GTR000, never a crash)."""

    name: str
    error: str


def builtin_checks() -> list[type[Check]]:
    """All built-in check classes, in registration order."""
    out: list[type[Check]] = []
    for module_name in BUILTIN_MODULES:
        module = importlib.import_module(module_name)
        out.extend(module.CHECKS)
    return out


def plugin_checks() -> tuple[list[type[Check]], list[PluginFailure]]:
    """Check classes registered by other distributions; an entry point may name a class or a tuple."""
    from importlib.metadata import entry_points

    found: list[type[Check]] = []
    failures: list[PluginFailure] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            items = obj if isinstance(obj, (tuple, list)) else (obj,)
            for item in items:
                if not (isinstance(item, type) and issubclass(item, Check)):
                    raise TypeError(f"{item!r} is not a gator Check subclass")
                for attr in ("code", "title", "category"):
                    if not isinstance(getattr(item, attr, None), str):
                        raise TypeError(f"{item.__name__} has no {attr}")
                found.append(item)
        except Exception as exc:
            failures.append(PluginFailure(ep.name, f"{type(exc).__name__}: {exc}"))
    return found, failures


def all_checks(*, include_plugins: bool = True) -> tuple[list[type[Check]], list[PluginFailure]]:
    """Built-in checks then plugins; a plugin reusing a built-in code is refused."""
    checks = builtin_checks()
    failures: list[PluginFailure] = []
    if include_plugins:
        plugins, failures = plugin_checks()
        taken = {c.code for c in checks}
        for p in plugins:
            if p.code in taken:
                failures.append(PluginFailure(p.__name__, f"check code {p.code} is already taken"))
                continue
            taken.add(p.code)
            checks.append(p)
    return checks, failures


def checks_markdown_table(checks: list[type[Check]] | None = None) -> str:
    """The README's table of checks, generated from the registry (a test keeps them in sync)."""
    rows = ["| code | category | title |", "|---|---|---|"]
    for c in sorted(checks if checks is not None else builtin_checks(), key=lambda c: c.code):
        opt_in = " (opt-in)" if not c.default_enabled else ""
        rows.append(f"| `{c.code}` | {c.category} | {c.title}{opt_in} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(checks_markdown_table(), end="")
