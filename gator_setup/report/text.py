"""Human report: findings grouped by category; colour only on a TTY without NO_COLOR."""

from __future__ import annotations

import io
import os
import sys
from typing import TextIO

from gator_setup.findings import CATEGORIES, CheckResult, Finding, Severity
from gator_setup.report.model import Report

_MARK = {
    Severity.OK: ("✓", "green"),
    Severity.INFO: ("i", "cyan"),
    Severity.WARNING: ("!", "yellow"),
    Severity.ERROR: ("✗", "red"),
}

#: (style, text) pairs; the style is a rich style name, used only when colour is on.
Lines = list[tuple[str, str]]


def _category_order(category: str) -> tuple[int, str]:
    return (CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES), category)


def _finding_lines(f: Finding, verbose: bool) -> Lines:
    mark, style = _MARK[f.severity]
    where = f" [{f.location}]" if f.location else ""
    lines = [(style, f"    {mark} {f.severity.label:<7} {f.message}{where}")]
    if f.fix:
        lines.append(("", f"              fix: {f.fix}"))
    if verbose:
        for key, value in f.evidence.items():
            for i, part in enumerate(str(value).splitlines() or [""]):
                lines.append(("dim", f"              {key if i == 0 else ' ' * len(key)}: {part}"))
    for r in f.related:  # the same root cause, seen by another check (core/causes.py)
        lines.append(("dim", f"              same cause: {r.code} {r.severity.label}: {r.message}"))
    return lines


def report_lines(report: Report, *, verbose: bool = False) -> Lines:
    """The whole report as styled lines, independent of how they are printed."""
    lines: Lines = []
    header = report.context.get("headline")
    if header:
        lines.append(("bold", str(header)))
    lines.extend(("dim", note) for note in report.notes)

    grouped = {rel.code: f.code for f in report.findings for rel in f.related if rel.code != f.code}
    by_category: dict[str, list[CheckResult]] = {}
    for r in report.results:
        by_category.setdefault(r.category, []).append(r)
    for category in sorted(by_category, key=_category_order):
        lines += [("", ""), ("bold underline", category)]
        for r in by_category[category]:
            if r.skipped is not None:
                lines.append(("dim", f"  - {r.code} {r.title} (skipped: {r.skipped})"))
                continue
            if not r.findings and r.code in grouped:
                lines.append(
                    ("dim", f"  ↳ {r.code} {r.title}: its finding is grouped under {grouped[r.code]}")
                )
                continue
            mark, style = _MARK[r.worst if r.worst > Severity.INFO else Severity.OK]
            lines.append((style, f"  {mark} {r.code} {r.title}"))
            for f in sorted(r.findings, key=lambda f: -f.severity):
                if f.severity != Severity.OK or verbose:
                    lines.extend(_finding_lines(f, verbose))

    s = report.summary()
    verdict = "no problems found" if not (s["errors"] or s["warnings"]) else "problems found"
    style = "bold red" if s["errors"] else ("bold yellow" if s["warnings"] else "bold green")
    skipped = f", {s['checks_skipped']} skipped" if s["checks_skipped"] else ""
    judged = s["checks_run"] - s["checks_skipped"]
    lines += [
        ("", ""),
        (
            style,
            f"{s['errors']} error(s), {s['warnings']} warning(s), {s['info']} note(s); "
            f"{s['checks_passed']}/{judged} checks passed{skipped}: {verdict}.",
        ),
    ]
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
    target = out or sys.stdout
    if color is None:
        color = "NO_COLOR" not in os.environ and target.isatty()
    lines = report_lines(report, verbose=verbose)
    if color:
        # rich only when colour is wanted: importing it costs more than the whole warm doctor run.
        from rich.console import Console
        from rich.text import Text

        buf = io.StringIO()
        console = Console(
            file=buf, force_terminal=True, highlight=False, soft_wrap=True, width=width or 100, emoji=False
        )
        for style, line in lines:
            console.print(Text(line, style=style))
        text = buf.getvalue()
    else:
        text = "".join(line + "\n" for _, line in lines)
    if out is not None:
        out.write(text)
    return text
