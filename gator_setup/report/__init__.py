"""Renderers (text, JSON, GitHub annotations, SARIF) over one Report type."""

from gator_setup.report.model import SCHEMA_VERSION, Report

__all__ = ["SCHEMA_VERSION", "Report"]
