"""Core: what each command does, callable from tests without the CLI."""
