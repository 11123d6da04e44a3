"""A spinner on stderr while a slow step runs: on a terminal only, silent when piped or captured."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext


def activity(message: str) -> AbstractContextManager[object]:
    """Show `message...` with a spinner on stderr for the duration of the block (a TTY only)."""
    if not sys.stderr.isatty():
        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(f"{message}...")
