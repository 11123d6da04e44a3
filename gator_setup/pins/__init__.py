"""Declared pins: parsers for requirement, project and lock files, and the 'admits' logic."""
