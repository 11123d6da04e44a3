"""Human report: findings grouped by category; colour only on a TTY without NO_COLOR."""

from __future__ import annotations

import io
import os
import sys
from typing import TextIO

from gator_setup.checks.base import CATEGORIES, Finding, Severity
from gator_setup.checks.runner import CheckResult
from gator_setup.report.model import Report

_MARK = {
    Severity.OK: ("✓", "green"),
    Severity.INFO: ("i", "cyan"),
    Severity.WARNING: ("!", "yellow"),
    Severity.ERROR: ("✗", "red"),
}


def _category_order(category: str) -> tuple[int, str]:
    return (CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES), category)


def _finding_lines(f: Finding, verbose: bool) -> list[tuple[str, str]]:
    """(style, text) pairs for one finding."""
    mark, style = _MARK[f.severity]
    where = f" [{f.location}]" if f.location else ""
    lines = [(style, f"    {mark} {f.severity.label:<7} {f.message}{where}")]
    if f.fix:
        lines.append(("", f"              fix: {f.fix}"))
    if verbose:
        for key, value in f.evidence.items():
            for i, part in enumerate(str(value).splitlines() or [""]):
                lines.append(("dim", f"              {key if i == 0 else ' ' * len(key)}: {part}"))
    return lines


def render_text(
    report: Report,
    *,
    verbose: bool = False,
    color: bool | None = None,
    width: int | None = None,
    out: TextIO | None = None,
) -> str:
    """Render the report; returns the text (also written to `out` when given)."""
    from rich.console import Console
    from rich.text import Text

    target = out or sys.stdout
    if color is None:
        color = "NO_COLOR" not in os.environ and target.isatty()
    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        soft_wrap=True,
        width=width or 100,
        emoji=False,
        markup=False,
    )

    header = report.context.get("headline")
    if header:
        console.print(Text(str(header), style="bold"))
    for note in report.notes:
        console.print(Text(note, style="dim"))

    by_category: dict[str, list[CheckResult]] = {}
    for r in report.results:
        by_category.setdefault(r.category, []).append(r)
    for category in sorted(by_category, key=_category_order):
        console.print()
        console.print(Text(category, style="bold underline"))
        for r in by_category[category]:
            if r.skipped is not None:
                console.print(Text(f"  - {r.code} {r.title} (skipped: {r.skipped})", style="dim"))
                continue
            worst = r.worst
            mark, style = _MARK[worst if worst > Severity.INFO else Severity.OK]
            console.print(Text(f"  {mark} {r.code} {r.title}", style=style))
            for f in sorted(r.findings, key=lambda f: -f.severity):
                if f.severity == Severity.OK and not verbose:
                    continue
                for st, line in _finding_lines(f, verbose):
                    console.print(Text(line, style=st))

    s = report.summary()
    console.print()
    verdict = "no problems found" if not (s["errors"] or s["warnings"]) else "problems found"
    console.print(
        Text(
            f"{s['errors']} error(s), {s['warnings']} warning(s), {s['info']} note(s); "
            f"{s['checks_passed']}/{s['checks_run'] - s['checks_skipped']} checks passed"
            + (f", {s['checks_skipped']} skipped" if s["checks_skipped"] else "")
            + f": {verdict}.",
            style="bold red" if s["errors"] else ("bold yellow" if s["warnings"] else "bold green"),
        )
    )
    text = buf.getvalue()
    if out is not None:
        out.write(text)
    return text
