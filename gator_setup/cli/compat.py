"""Arguments for typer.Typer() that keep gator's messages the same on every supported Typer/Click."""

from __future__ import annotations

import inspect
from typing import Any

import typer


def typer_kwargs() -> dict[str, Any]:
    """Said once: Click 8.4 added its own "Did you mean ...?" to an unknown command (NoSuchCommand),
    and Typer (0.20 to 0.25) adds one too where it has `suggest_commands`; with both, `gator doctr`
    printed the suggestion twice. Typer's is kept only where Click has none (reproduced in uv venvs:
    typer 0.15.4 + click 8.1.8 and typer 0.19.2 + click 8.2.1 suggest nothing for commands, typer
    0.25.1 + click 8.5.1 suggested twice)."""
    if "suggest_commands" not in inspect.signature(typer.Typer.__init__).parameters:
        return {}
    try:
        import click.exceptions
    except ImportError:  # a Typer that carries Click inside itself: its own single suggestion
        return {}
    return {"suggest_commands": not hasattr(click.exceptions, "NoSuchCommand")}
