"""`gator scan` without Typer: the plain option forms parsed by hand, for a fast start, and the
command's body that the Typer command runs too.

Importing Typer and Click is a good part of a warm scan of a whole site-packages
(docs/imports.md). This path handles the plain forms (`--opt value`, `--opt=value`, flags, paths);
anything else (`--help`, an unknown or malformed option, a bad --format value, no path, `--`)
returns None and the Typer app handles the command, so usage errors and help read exactly as
before. The options come from cli/optspec.py (the Typer command reads the same rows), and both
paths run `scan_command`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gator_setup.cli.optspec import FORMATS, SCAN, plain_spec
from gator_setup.cli.plainargs import parse_plain

_SPEC = plain_spec(SCAN, positional="paths")


def parse_scan_args(args: Sequence[str]) -> dict[str, Any] | None:
    """The `scan` command's arguments as Typer would bind them, or None for anything unusual."""
    opts = parse_plain(args, _SPEC)
    if opts is None or not opts["paths"] or opts["fmt"] not in FORMATS:
        return None
    return opts


def fast_scan(args: Sequence[str]) -> int | None:
    """Run `gator scan ARGS` and return its exit code; None when the Typer app must handle it.
    Errors propagate to the caller's boundary (cli/entry.py)."""
    opts = parse_scan_args(args)
    if opts is None:
        return None
    return scan_command(opts)


def scan_command(v: Mapping[str, Any]) -> int:
    """`gator scan` with its options' values (as the Typer command or the fast parser binds them)."""
    if v["python"]:
        from gator_setup.cachedir import cache_root
        from gator_setup.probes.python_env import start_query

        # the other interpreter starts while gator imports the rest (unless its answer is cached)
        start_query(v["python"], cache_root() / "interpreters")
    from gator_setup.cli.output import OutputFormat, emit_report, engine_workers
    from gator_setup.core.scan import ScanOptions, run_scan

    report = run_scan(
        ScanOptions(
            paths=tuple(v["paths"]),
            hub_version=v["hub_version"],
            python=v["python"],
            exclude=tuple(v["exclude"] or ()),
            workers=engine_workers(),
        )
    )
    fmt = OutputFormat(v["fmt"])
    return emit_report(report, fmt, json_=v["json_"], verbose=v["verbose"], strict=v["strict"])
