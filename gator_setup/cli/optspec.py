"""Each option of `gator doctor` and `gator scan` defined once, without importing Typer.

The Typer commands (cli/doctor.py, cli/scan.py, and the shared aliases of cli/common.py) build
their `typer.Option`s and defaults from these tables, and the Typer-free fast paths
(cli/fastdoctor.py, cli/fastscan.py) derive their hand parser's spec from the same rows
(`plain_spec`), so a new option, flag spelling or default is written in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, NamedTuple

from gator_setup.cli.plainargs import PlainSpec

FORMATS = ("text", "json", "github", "sarif")


class Opt(NamedTuple):
    """One option: its parameter name, its spellings, help, default and kind."""

    key: str
    flags: tuple[str, ...]
    help: str
    default: Any = None
    #: "value": one value (the last one wins); "list": repeatable; "flag": no value
    kind: Literal["value", "list", "flag"] = "value"
    #: False: given on the command line, the fast path hands the command to Typer
    fast: bool = True

    def typer(self) -> Any:
        """The `typer.Option` of this row (imports Typer: for the Typer commands only)."""
        import typer

        return typer.Option(*self.flags, help=self.help)


OUTPUT: tuple[Opt, ...] = (
    Opt("fmt", ("--format", "-f"), "Output format.", "text"),
    Opt("json_", ("--json",), "Shorthand for --format json.", False, "flag"),
    Opt("strict", ("--strict",), "Also fail (exit 1) on warnings.", False, "flag"),
    Opt("verbose", ("--verbose", "-v"), "Show evidence for each finding.", False, "flag"),
)

DOCTOR: tuple[Opt, ...] = (
    Opt("python", ("--python",), "Interpreter or venv folder to inspect."),
    Opt(
        "project",
        ("--project",),
        "Project folder (settings, source scan); default: the nearest folder at or above this one "
        "with pyproject.toml, setup.py, setup.cfg, requirements*.txt or .git.",
    ),
    Opt("only", ("--only",), "Run only these check codes (A,B).", kind="list"),
    Opt("skip", ("--skip",), "Skip these check codes (A,B).", kind="list"),
    Opt("profile", ("--profile",), "Also check against a profile (constraints/NAME.txt)."),
    Opt("deep", ("--deep",), "Import torch in the target interpreter (arch list, devices).", False, "flag"),
    Opt("sysroot", ("--sysroot",), "Replay a support bundle or tree instead of this machine."),
    Opt("save_bundle", ("--save-bundle",), "Write the raw GPU probe inputs to FILE.tar.gz."),
    Opt(
        "from_output",
        ("--from-output",),
        "Diagnose pasted output of rocminfo, rocm-smi, amd-smi, nvidia-smi or collect_env "
        "(a file, or - for stdin; repeatable) instead of this machine.",
        kind="list",
    ),
    *OUTPUT,
    Opt(
        "what_if",
        ("--what-if",),
        "Report what installing these requirements would break, without installing (repeatable).",
        kind="list",
        fast=False,  # resolves and downloads: start-up time does not matter there
    ),
)

SCAN: tuple[Opt, ...] = (
    Opt("hub_version", ("--hub-version",), "Check against this huggingface_hub version (downloaded once)."),
    Opt("python", ("--python",), "Resolve against the providers of this interpreter/venv."),
    Opt("exclude", ("--exclude",), "Glob of files not to scan (repeatable).", kind="list"),
    *OUTPUT,
)


def by_key(opts: Iterable[Opt]) -> dict[str, Opt]:
    """The rows by parameter name."""
    return {o.key: o for o in opts}


def plain_spec(opts: Iterable[Opt], positional: str | None = None) -> PlainSpec:
    """The fast path's parser spec of a command's rows (`positional`: the key collecting
    positional arguments, None when the command takes none)."""
    rows = [o for o in opts if o.fast]
    defaults: dict[str, Any] = {o.key: [] if o.kind == "list" else o.default for o in rows}
    if positional is not None:
        defaults[positional] = []
    valued = {f: o.key for o in rows if o.kind != "flag" for f in o.flags if f.startswith("--")}
    short = {f: o.key for o in rows if o.kind != "flag" for f in o.flags if not f.startswith("--")}
    flags = {f: o.key for o in rows if o.kind == "flag" for f in o.flags}
    lists = frozenset(o.key for o in rows if o.kind == "list")
    return PlainSpec(defaults, valued, flags, short, lists, positional)
