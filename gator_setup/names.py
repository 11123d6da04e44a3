"""PEP 503 distribution-name normalisation without importing packaging.utils.

`packaging.utils` imports `packaging.tags` (and with it logging, sysconfig, platform), a visible
share of a warm `gator scan` (docs/imports.md, "Start-up and engine figures"). This is the same function
(tested against packaging's).
"""

from __future__ import annotations


def canonicalize_name(name: str) -> str:
    """`Foo.Bar__baz` -> `foo-bar-baz`, as packaging.utils.canonicalize_name."""
    value = name.lower().replace("_", "-").replace(".", "-")
    while "--" in value:
        value = value.replace("--", "-")
    return value
