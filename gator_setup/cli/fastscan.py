"""`gator scan` without Typer: the common option forms parsed by hand, for a fast start.

A warm scan of a whole site-packages takes about 0.2 s, and importing Typer and Click took
about 0.06 s of it. This path handles the plain forms (`--opt value`, `--opt=value`, flags,
paths); anything else (`--help`, an unknown or malformed option, a bad --format value, no path,
`--`) returns None and the Typer app handles the command, so usage errors and help read exactly
as before. What runs is the same: ScanOptions -> run_scan -> emit_report, and the same error
handling as `cli.common.guarded`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gator_setup.cli.output import OutputFormat, exit_code_for
from gator_setup.cli.plainargs import PlainSpec, parse_plain

_FORMATS = {f.value for f in OutputFormat}
_SPEC = PlainSpec(
    defaults={
        "paths": [],
        "hub_version": None,
        "python": None,
        "exclude": [],
        "fmt": OutputFormat.text.value,
        "json_": False,
        "strict": False,
        "verbose": False,
    },
    valued={"--hub-version": "hub_version", "--python": "python", "--exclude": "exclude", "--format": "fmt"},
    flags={"--json": "json_", "--strict": "strict", "--verbose": "verbose", "-v": "verbose"},
    short_valued={"-f": "fmt"},
    lists=frozenset({"exclude"}),
    positional="paths",
)


def parse_scan_args(args: Sequence[str]) -> dict[str, Any] | None:
    """The `scan` command's arguments as Typer would bind them, or None for anything unusual."""
    opts = parse_plain(args, _SPEC)
    if opts is None or not opts["paths"] or opts["fmt"] not in _FORMATS:
        return None
    return opts


def fast_scan(args: Sequence[str]) -> int | None:
    """Run `gator scan ARGS` and return its exit code; None when the Typer app must handle it."""
    opts = parse_scan_args(args)
    if opts is None:
        return None
    return run_guarded(_run, opts)


def run_guarded(run: Callable[[dict[str, Any]], int], opts: dict[str, Any]) -> int:
    """`run(opts)` with the error handling of `cli.common.guarded`: one line on stderr, an exit code."""
    try:
        return run(opts)
    except (Exception, KeyboardInterrupt) as exc:
        return exit_code_for(exc)


def _run(opts: dict[str, Any]) -> int:
    if opts["python"]:
        from gator_setup.cachedir import cache_root
        from gator_setup.probes.python_env import start_query

        # the other interpreter starts while gator imports the rest (unless its answer is cached)
        start_query(opts["python"], cache_root() / "interpreters")
    from gator_setup.cli.output import emit_report, engine_workers
    from gator_setup.core.scan import ScanOptions, run_scan

    report = run_scan(
        ScanOptions(
            paths=tuple(opts["paths"]),
            hub_version=opts["hub_version"],
            python=opts["python"],
            exclude=tuple(opts["exclude"]),
            workers=engine_workers(),
        )
    )
    fmt = OutputFormat(opts["fmt"])
    return emit_report(report, fmt, json_=opts["json_"], verbose=opts["verbose"], strict=opts["strict"])
