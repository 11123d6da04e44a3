"""gator: a doctor and installer for GPU model stacks."""

__version__ = "0.1.0"
