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
    parser.add_argument(
        "--analyze", action="store_true", help="gator doctor summary and what fits this machine"
    )
    parser.add_argument(
        "--install", nargs="+", metavar="NAME", help="gator install-models NAME... (catalog name or org/name)"
    )
    parser.add_argument("--models-dir", metavar="DIR", help="install into DIR instead of the HF cache")
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        print(
            f"setup_ai_models.py: error: unknown option {unknown[0]!r}; this script is a legacy wrapper, "
            "run `gator --help` for the current commands.",
            file=sys.stderr,
        )
        return 2
    from gator_setup.cli.app import main as gator_main

    if args.models_dir and not args.install:
        print("setup_ai_models.py: error: --models-dir goes with --install NAME...", file=sys.stderr)
        return 2
    code = 0
    if args.analyze:
        code = gator_main(["doctor"])
        code = max(code, gator_main(["models", "list"]))
    if args.install:
        extra = ["--models-dir", args.models_dir] if args.models_dir else []
        code = max(code, gator_main(["install-models", *args.install, *extra]))
    if args.analyze or args.install:
        return code
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
