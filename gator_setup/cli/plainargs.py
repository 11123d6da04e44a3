"""The plain option forms of a command, parsed without Typer, for the fast start-up paths.

Handled: `--opt value`, `--opt=value`, `-f value`, flags, repeatable list options and (when the
command takes them) positional arguments. Anything else (`--help`, `--`, an unknown option, a
missing or dash-leading value, `-fjson`, `--flag=1`) gives None, and the Typer command handles it, so
help and usage errors read exactly as before. A repeated single-value option keeps the last value,
as Click does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple


class PlainSpec(NamedTuple):
    """What one command accepts on its fast path."""

    defaults: Mapping[str, Any]
    valued: Mapping[str, str]  # "--python" -> "python"
    flags: Mapping[str, str]  # "--json" -> "json_"
    short_valued: Mapping[str, str] = MappingProxyType({})  # "-f" -> "fmt"
    lists: frozenset[str] = frozenset()  # keys collecting every value (repeatable options)
    positional: str | None = None  # key collecting positional arguments; None: none allowed


def parse_plain(args: Sequence[str], spec: PlainSpec) -> dict[str, Any] | None:
    """The arguments as Typer would bind them, or None for anything unusual."""
    opts = {k: list(v) if isinstance(v, list) else v for k, v in spec.defaults.items()}
    i = 0
    while i < len(args):
        tok = args[i]
        i += 1
        if not tok.startswith("-"):
            if spec.positional is None:
                return None
            opts[spec.positional].append(tok)
            continue
        if tok in spec.flags:
            opts[spec.flags[tok]] = True
            continue
        name, eq, value = tok.partition("=")
        key = (
            spec.valued.get(name)
            if name.startswith("--")
            else (spec.short_valued.get(tok) if not eq else None)
        )
        if key is None:
            return None
        if not eq:
            if i >= len(args):
                return None
            value = args[i]
            i += 1
        if not value or value.startswith("-"):
            return None
        if key in spec.lists:
            opts[key].append(value)
        else:
            opts[key] = value
    return opts
