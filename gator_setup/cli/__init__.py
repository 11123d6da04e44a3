"""The command-line layer: parse options, call core, render, exit."""
