"""The `gator` console script: `gator scan` and `gator doctor` take Typer-free fast paths (for their
plain option forms), all else the Typer app."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["scan"]:
        from gator_setup.cli.fastscan import fast_scan

        code = fast_scan(args[1:])
        if code is not None:
            return code
    elif args[:1] == ["doctor"]:
        from gator_setup.cli.fastdoctor import fast_doctor

        code = fast_doctor(args[1:])
        if code is not None:
            return code
    from gator_setup.cli.app import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
