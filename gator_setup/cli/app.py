"""The `gator` Typer app: registers each command module and maps exits to the exit-code contract."""

from __future__ import annotations

import sys

import typer

from gator_setup import __version__
from gator_setup.cli import check_pins as check_pins_cmd
from gator_setup.cli import doctor as doctor_cmd
from gator_setup.cli import fix as fix_cmd
from gator_setup.cli import mirror as mirror_cmd
from gator_setup.cli import models as models_cmd
from gator_setup.cli import profiles as profiles_cmd
from gator_setup.cli import scan as scan_cmd
from gator_setup.cli import space as space_cmd
from gator_setup.cli.compat import typer_kwargs

app = typer.Typer(
    **typer_kwargs(),
    name="gator",
    help="A doctor and installer for GPU model stacks (Stable Diffusion, FLUX, Llama...).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"gator {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """gator: find what breaks a GPU model stack before it bites."""


app.command("doctor", epilog=doctor_cmd.DOCTOR_EPILOG)(doctor_cmd.doctor)
app.command("checks")(doctor_cmd.checks)
app.command("explain", epilog=doctor_cmd.EXPLAIN_EPILOG)(doctor_cmd.explain)
app.command("check-pins", epilog=check_pins_cmd.CHECK_PINS_EPILOG)(check_pins_cmd.check_pins)
models_cmd.register(app)
app.command("profiles", epilog=profiles_cmd.PROFILES_EPILOG)(profiles_cmd.profiles)
app.command("fix", epilog=fix_cmd.FIX_EPILOG)(fix_cmd.fix)
app.add_typer(space_cmd.space_app, name="space")
app.add_typer(mirror_cmd.app, name="mirror")
app.command("scan", epilog=scan_cmd.SCAN_EPILOG)(scan_cmd.scan)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code."""
    try:
        app(args=argv, prog_name="gator")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
