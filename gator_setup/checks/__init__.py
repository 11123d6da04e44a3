"""Checks: pure functions from an EnvSnapshot to findings, one module per family."""

from gator_setup.checks.base import Check, Finding, Location, Severity

__all__ = ["Check", "Finding", "Location", "Severity"]
