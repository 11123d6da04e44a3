"""`python -m gator_setup` runs the gator CLI."""

from gator_setup.cli.entry import main

if __name__ == "__main__":
    raise SystemExit(main())
