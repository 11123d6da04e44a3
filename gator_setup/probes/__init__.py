"""Probes: the only code that touches the system (files, subprocesses), each with a timeout."""
