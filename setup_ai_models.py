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
    if args.models_dir and not args.install:
        print("setup_ai_models.py: error: --models-dir goes with --install NAME...", file=sys.stderr)
        return 2
    code = 0
    if args.analyze:
        code = _analyze()
    if args.install:
        from gator_setup.cli.app import main as gator_main

        extra = ["--models-dir", args.models_dir] if args.models_dir else []
        code = max(code, gator_main(["install-models", *args.install, *extra]))
    if args.analyze or args.install:
        return code
    parser.print_help()
    return 0


def _analyze() -> int:
    """The doctor's verdict in brief, then which catalog models fit this machine, one line per answer."""
    from gator_setup.cli.output import error_line
    from gator_setup.core.doctor import run_doctor
    from gator_setup.core.options import DoctorOptions
    from gator_setup.errors import GatorError
    from gator_setup.installers.catalog import FIT_VERDICTS, fits, load_catalog
    from gator_setup.probes.memory import memory_facts
    from gator_setup.report.text import render_text

    try:
        report = run_doctor(DoctorOptions())
        catalog = load_catalog()
    except GatorError as exc:
        error_line(str(exc))
        return exc.exit_code
    render_text(report, brief=True, out=sys.stdout)
    facts = memory_facts()
    by_verdict: dict[str, list[str]] = {}
    for entry in catalog.entries.values():
        by_verdict.setdefault(fits(entry, facts).verdict, []).append(entry.name)
    ram = f"{facts.ram_total / 1e9:.0f} GB RAM" if facts.ram_total else "RAM unknown"
    gpu = f"a {facts.vram_total / 1e9:.0f} GB GPU" if facts.vram_total else "no GPU"
    said = {
        "yes": "fit",
        "cpu": "CPU only (slow)",
        "offload": "need CPU offload",
        "no": "do not fit",
        "unknown": "unknown",
    }
    sys.stdout.write(f"\nmodels on this machine ({ram}, {gpu}):\n")
    for verdict in FIT_VERDICTS:
        if verdict in by_verdict:
            sys.stdout.write(f"  {said[verdict]}: {', '.join(by_verdict[verdict])}\n")
    sys.stdout.write("full reports: `gator doctor`, `gator models list`; `gator models show NAME` says why\n")
    return report.exit_code()


if __name__ == "__main__":
    sys.exit(main())
