"""Every finding code gator knows: the check classes (the built-in tuple and the
`gator_setup.checks` entry-point group) and the rules reported by commands (what-if, check-pins,
the runner), each with a title, a category and an explanation (`gator explain CODE`)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from gator_setup.checks.base import Check
from gator_setup.findings import CRASH_CODE, CheckResult, Finding

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
    "gator_setup.checks.backend_gates",
)


class PluginFailure(NamedTuple):
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


def _entry_points(group: str) -> list[Any]:
    """The entry points of `group` that this interpreter's distributions declare.

    As `importlib.metadata.entry_points(group=...)` finds them (the first distribution of a name
    on sys.path wins), but an `entry_points.txt` that does not name the group is neither parsed
    nor wrapped in a Distribution: the doctor asks on every run, and most environments hold
    dozens of distributions and no gator plugin.
    """
    import os

    needle = f"[{group}]".encode()
    seen: set[str] = set()
    found: list[Any] = []
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            key = name.partition("-")[0].lower().replace("_", "-").replace(".", "-")
            if key in seen:
                continue
            seen.add(key)
            folder = os.path.join(entry or ".", name)
            try:
                with open(os.path.join(folder, "entry_points.txt"), "rb") as fh:
                    if needle not in fh.read():
                        continue
            except OSError:
                continue
            # (imported only for a plugin: importlib.metadata costs a warm doctor a tenth of its time)
            from importlib.metadata import PathDistribution

            found.extend(PathDistribution(Path(folder)).entry_points.select(group=group))
    return found


def plugin_checks() -> tuple[list[type[Check]], list[PluginFailure]]:
    """Check classes registered by other distributions; an entry point may name a class or a tuple."""
    found: list[type[Check]] = []
    failures: list[PluginFailure] = []
    for ep in _entry_points(ENTRY_POINT_GROUP):
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


class Rule(NamedTuple):
    """A finding code: its title, its category and the command that reports it."""

    code: str
    title: str
    category: str
    reported_by: str = "gator doctor"
    default_enabled: bool = True


DOCTOR = "gator doctor"
#: Codes reported without a check class of their own: by the runner, by `gator doctor --what-if`
#: and by `gator check-pins`.
COMMAND_RULES: tuple[Rule, ...] = (
    Rule(CRASH_CODE, "A check crashed or a plugin failed to load (a gator bug)", "gator", "any command"),
    Rule("GTR111", "Imports still resolve after the change", "imports", "gator doctor --what-if"),
    Rule("GTR112", "Nothing is downgraded", "packages", "gator doctor --what-if"),
    Rule("GTR301", "Declared ranges admit no known-bad combination", "pins", "gator check-pins"),
    Rule("GTR302", "Locked versions are no known-bad combination", "pins", "gator check-pins"),
    Rule("GTR303", "Declared ranges fit the profile", "profile", "gator check-pins --profile"),
    Rule("GTR304", "Resolved environments of the files import", "pins", "gator check-pins"),
)
#: Check classes that `gator scan` runs too.
SCAN_CODES = frozenset({"GTR101", "GTR102"})


def rule_of(check: type[Check]) -> Rule:
    """The rule of a check class."""
    by = f"{DOCTOR}, gator scan" if check.code in SCAN_CODES else DOCTOR
    return Rule(check.code, check.title, check.category, by, check.default_enabled)


def all_rules(*, include_plugins: bool = True) -> tuple[list[Rule], list[PluginFailure]]:
    """Every finding code, sorted: the checks' (plugins included) and the commands' rules."""
    checks, failures = all_checks(include_plugins=include_plugins)
    rules = [rule_of(c) for c in checks] + list(COMMAND_RULES)
    return sorted(rules, key=lambda r: r.code), failures


def command_rule(code: str) -> Rule:
    """One of COMMAND_RULES (a KeyError names a code that was never registered)."""
    for rule in COMMAND_RULES:
        if rule.code == code:
            return rule
    raise KeyError(f"{code} is not a registered command rule")


def command_result(code: str, findings: Sequence[Finding], *, title: str | None = None) -> CheckResult:
    """The result of a command rule (what-if, check-pins), titled from the registry."""
    rule = command_rule(code)
    return CheckResult(code, title or rule.title, rule.category, list(findings))


EXPLANATIONS = Path(__file__).resolve().parent.parent / "knowledge" / "codes.toml"
EXPLAINED = ("meaning", "why", "fix")


@lru_cache(maxsize=1)
def explanations() -> dict[str, dict[str, str]]:
    """code -> {"meaning", "why", "fix"} of every built-in code (knowledge/codes.toml)."""
    from gator_setup.tomlread import load_toml

    data = load_toml(EXPLANATIONS)
    return {code: {k: str(v) for k, v in entry.items()} for code, entry in data.items()}


def explain(code: str, checks: Sequence[type[Check]] = ()) -> dict[str, str] | None:
    """What `code` means, why it matters and how to fix it; a plugin's check class has its
    docstring as the meaning. None for a code nobody registered."""
    found = explanations().get(code)
    if found is not None:
        return found
    for c in checks:
        if c.code == code and c.__doc__:
            return {"meaning": " ".join(c.__doc__.split())}
    return None


def checks_markdown_table(rules: list[Rule] | None = None) -> str:
    """The README's table of finding codes, generated from the registry (a test keeps them in sync)."""
    rows = ["| code | category | title | reported by |", "|---|---|---|---|"]
    for r in rules if rules is not None else all_rules(include_plugins=False)[0]:
        opt_in = " (opt-in)" if not r.default_enabled else ""
        rows.append(f"| `{r.code}` | {r.category} | {r.title}{opt_in} | {r.reported_by} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(checks_markdown_table(), end="")
