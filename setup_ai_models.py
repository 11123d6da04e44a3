#!/usr/bin/env python3
"""The old Gator entry script, kept as a thin wrapper over `gator` (see README, 'setup_ai_models.py')."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Map the old flags onto gator commands; unknown flags get a one-line pointer to `gator`."""
    parser = argparse.ArgumentParser(
        prog="setup_ai_models.py",
        add_help=True,
        description="Legacy wrapper; use the `gator` command instead.",
    )
    parser.add_argument("--analyze", action="store_true", help="gator doctor summary")
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        print(
            f"setup_ai_models.py: error: unknown option {unknown[0]!r}; this script is a legacy wrapper, "
            "run `gator --help` for the current commands.",
            file=sys.stderr,
        )
        return 2
    from gator_setup.cli.app import main as gator_main

    if args.analyze:
        return gator_main(["doctor"])
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
