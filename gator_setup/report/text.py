"""Human report: what is here, findings grouped by category, skips collapsed, the next step.

Lines are wrapped to the terminal's width with hanging indents, only at spaces, so a command in a
`fix:` line is never split inside a word; colour only on a TTY without NO_COLOR.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import textwrap
from collections.abc import Mapping
from typing import Any, NamedTuple, TextIO

from gator_setup.findings import CATEGORIES, CheckResult, Finding, Severity
from gator_setup.report.model import Report

_MARK = {
    Severity.OK: ("✓", "green"),
    Severity.INFO: ("i", "cyan"),
    Severity.WARNING: ("!", "yellow"),
    Severity.ERROR: ("✗", "red"),
}

#: Packages the "here:" line names, present or not (distribution name -> how it is shown).
KEY_PACKAGES = {
    "torch": "torch",
    "diffusers": "diffusers",
    "transformers": "transformers",
    "huggingface-hub": "huggingface_hub",
}
#: Without these nothing of a model stack can run: their absence gets a "next step".
STACK_PACKAGES = ("torch", "diffusers", "transformers")


class Line(NamedTuple):
    """One logical line: its style, its text, and the indent of its continuation lines."""

    style: str
    text: str
    hang: int = 0


def _category_order(category: str) -> tuple[int, str]:
    return (CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES), category)


def _finding_lines(f: Finding, verbose: bool) -> list[Line]:
    mark, style = _MARK[f.severity]
    where = f" [{_short(str(f.location))}]" if f.location else ""
    head = f"    {mark} {f.severity.label:<7} "
    lines = [Line(style, f"{head}{f.message}{where}", len(head))]
    pad = " " * len(head)
    if f.fix:
        lines.append(Line("", f"{pad}fix: {f.fix}", len(head) + 5))
    if verbose:
        for key, value in f.evidence.items():
            for i, part in enumerate(str(value).splitlines() or [""]):
                label = f"{pad}{key if i == 0 else ' ' * len(key)}: "
                lines.append(Line("dim", f"{label}{part}", len(label)))
    for r in f.related:  # the same root cause, seen by another check (core/causes.py)
        lines.append(Line("dim", f"{pad}same cause: {r.code} {r.severity.label}: {r.message}", len(pad) + 12))
    return lines


def _short(location: str) -> str:
    """A location inside an environment from its packages folder on (the JSON keeps the full path)."""
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in location:
            return "…" + marker + location.split(marker, 1)[1]
    return location


def _here(context: Mapping[str, Any]) -> str | None:
    """`here: Python 3.11 (venv) · torch 2.13.0+cpu (CPU build) · GPU: none found · diffusers: absent`."""
    packages = context.get("packages")
    interp = context.get("interpreter")
    if not isinstance(packages, Mapping) or not isinstance(interp, Mapping):
        return None
    parts = [f"Python {interp.get('version', '?')}" + (" (venv)" if interp.get("venv") else "")]
    platform = context.get("platform") if isinstance(context.get("platform"), Mapping) else None
    torch = packages.get("torch")
    if torch:
        build = (platform or {}).get("torch") or {}
        kind = build.get("kind") if isinstance(build, Mapping) else None
        parts.append(
            f"torch {torch}" + (f" ({kind.upper() if kind != 'cpu' else 'CPU'} build)" if kind else "")
        )
    else:
        parts.append("torch: not installed")
    if platform is not None:
        gpus = platform.get("gpus") or []
        names = [str(g.get("name") or g.get("vendor") or "GPU") for g in gpus if isinstance(g, Mapping)]
        parts.append(f"GPU: {', '.join(names)}" if names else "GPU: none found")
    for dist, shown in KEY_PACKAGES.items():
        if dist == "torch":
            continue
        version = packages.get(dist)
        parts.append(f"{shown} {version}" if version else f"{shown}: not installed")
    # (each part kept on one line when the line is wrapped: "diffusers: not installed")
    return "here: " + " · ".join(part.replace(" ", _GLUE) for part in parts)


def _next_step(report: Report) -> str | None:
    """One line saying what to do next, when something is wrong or missing."""
    s = report.summary()
    if s["errors"] or s["warnings"]:
        return f"next step: apply the `fix:` lines above, then run `gator {report.command}` again."
    packages = report.context.get("packages")
    if isinstance(packages, Mapping):
        missing = [KEY_PACKAGES[p] for p in STACK_PACKAGES if not packages.get(p)]
        if missing:
            return (
                f"next step: {', '.join(missing)} not installed here. `gator profiles` lists tested "
                "stacks; `gator fix --profile NAME` prints the commands that install one."
            )
    return None


def _skip_lines(skipped: list[CheckResult]) -> list[Line]:
    """One line per reason: `- GTR203, GTR205 skipped: no AMD GPU found`. Reasons worded a little
    differently by different checks ("no profile selected: ..." / "no profile selected (...)")
    count as one, shown in the wording most of them use."""
    groups: dict[str, list[CheckResult]] = {}
    for r in sorted(skipped, key=lambda r: r.code):
        key = str(r.skipped).split(" (")[0].split(":")[0].strip().lower()
        groups.setdefault(key, []).append(r)
    lines = []
    for members in groups.values():
        texts = [str(r.skipped) for r in members]
        reason = max(texts, key=texts.count)
        head = "  - "
        codes = ", ".join(r.code for r in members)
        lines.append(Line("dim", f"{head}{codes} skipped: {reason}", len(head)))
    return lines


def brief_lines(report: Report) -> list[Line]:
    """The short form: what is here, only the checks that found a problem, the counts, next step."""
    full = report_lines(report)
    problems = [r for r in report.results if r.skipped is None and r.worst >= Severity.WARNING]
    lines = [line for line in full[:2] if line.text and line.style != "dim"]
    for r in problems:
        mark, style = _MARK[r.worst]
        lines.append(Line(style, f"  {mark} {r.code} {r.title}", 4))
        for f in sorted(r.findings, key=lambda f: -f.severity):
            if f.severity >= Severity.WARNING:
                lines.extend(_finding_lines(f, False))
    tail = [line for line in full if line.text.startswith("next step:") or " checks: " in line.text]
    return lines + tail


def report_lines(report: Report, *, verbose: bool = False) -> list[Line]:
    """The whole report as styled logical lines, independent of how they are printed."""
    lines: list[Line] = []
    header = report.context.get("headline")
    if header:
        lines.append(Line("bold", str(header), 2))
    here = _here(report.context)
    if here:
        lines.append(Line("", here, 6))
    lines.extend(Line("dim", note, 2) for note in report.notes)

    grouped = {rel.code: f.code for f in report.findings for rel in f.related if rel.code != f.code}
    by_category: dict[str, list[CheckResult]] = {}
    skipped: list[CheckResult] = []
    passed: list[CheckResult] = []
    for r in report.results:
        if r.skipped is not None and not verbose:
            skipped.append(r)
            continue
        # Without -v a check that passed with nothing to say is one code on one line: the report
        # of a healthy machine fits a terminal, and what needs reading stands out.
        quiet = not r.findings or all(f.severity == Severity.OK for f in r.findings)
        if quiet and not verbose and r.skipped is None and not r.crashed and r.code not in grouped:
            passed.append(r)
            continue
        by_category.setdefault(r.category, []).append(r)
    if by_category or passed:
        lines.append(Line("", ""))
    if passed:
        codes = ", ".join(sorted(r.code for r in passed))
        lines.append(
            Line(_MARK[Severity.OK][1], f"{_MARK[Severity.OK][0]} passed: {codes} (-v shows each)", 2)
        )
    for category in sorted(by_category, key=_category_order):
        lines.append(Line("bold underline", category))
        for r in by_category[category]:
            if r.skipped is not None:
                lines.append(Line("dim", f"  - {r.code} {r.title} (skipped: {r.skipped})", 4))
                continue
            if not r.findings and r.code in grouped:
                lines.append(
                    Line("dim", f"  ↳ {r.code} {r.title}: its finding is grouped under {grouped[r.code]}", 4)
                )
                continue
            # A tick only for a check that passed: one that only informs ("No GPU found") gets "i".
            mark, style = _MARK[r.worst if r.findings else Severity.OK]
            lines.append(Line(style, f"  {mark} {r.code} {r.title}", 4))
            for f in sorted(r.findings, key=lambda f: -f.severity):
                if f.severity != Severity.OK or verbose:
                    lines.extend(_finding_lines(f, verbose))
    if skipped:
        lines.append(Line("bold underline", "skipped (-v shows each in its place)"))
        lines += _skip_lines(skipped)

    s = report.summary()
    verdict = "no problems found" if not (s["errors"] or s["warnings"]) else "problems found"
    style = "bold red" if s["errors"] else ("bold yellow" if s["warnings"] else "bold green")
    failed = s["checks_run"] - s["checks_passed"] - s["checks_skipped"]
    counts = [f"{s['checks_passed']} passed"]
    if failed:
        counts.append(f"{failed} with findings")
    if s["checks_skipped"]:
        counts.append(f"{s['checks_skipped']} skipped")
    lines += [
        Line("", ""),
        Line(
            style,
            f"{s['errors']} error(s), {s['warnings']} warning(s), {s['info']} note(s); "
            f"{s['checks_run']} checks: {', '.join(counts)}: {verdict}.",
        ),
    ]
    step = _next_step(report)
    if step:
        lines.append(Line("bold", step, 11))
    return lines


def wrap(line: Line, width: int | None) -> list[str]:
    """`line` cut at spaces to `width` columns, continuation lines indented by its hang.

    A single word longer than the room left (a long path) is the only thing ever cut inside.
    """
    if not width or len(line.text) <= width:
        return [line.text.replace(_GLUE, " ")]
    lead = len(line.text) - len(line.text.lstrip(" "))
    hang = min(max(line.hang, lead), width // 2)
    wrapper = textwrap.TextWrapper(
        width=width,
        initial_indent=" " * lead,
        subsequent_indent=" " * hang,
        break_long_words=False,
        break_on_hyphens=False,
    )
    out: list[str] = []
    for piece in wrapper.wrap(_glue_code(line.text[lead:], width - hang)):
        piece = piece.replace(_GLUE, " ")
        while len(piece) > width:  # one word wider than the room: cut it where it must be cut
            out.append(piece[:width])
            piece = " " * hang + piece[width:]
        out.append(piece)
    return out or [""]


#: Stands for a space inside a `code span` while wrapping (a character no message contains).
_GLUE = "\x00"


def _glue_code(text: str, room: int) -> str:
    """Keep each `code span` (a command, a requirement) on one line when it fits in `room`."""
    parts = text.split("`")
    for i in range(1, len(parts), 2):  # the odd parts are inside backticks
        if len(parts[i]) + 2 <= room:
            parts[i] = parts[i].replace(" ", _GLUE)
    return "`".join(parts)


def terminal_width(target: TextIO) -> int | None:
    """Columns to wrap to: the terminal's, or $COLUMNS; None (no wrapping) when piped without it."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        if target.isatty():
            return shutil.get_terminal_size().columns
    except (AttributeError, ValueError, OSError):
        pass
    return None


def render_text(
    report: Report,
    *,
    verbose: bool = False,
    color: bool | None = None,
    width: int | None = None,
    out: TextIO | None = None,
    brief: bool = False,
) -> str:
    """Render the report (`brief`: only its problems); returns the text (also written to `out`)."""
    target = out or sys.stdout
    if color is None:
        color = "NO_COLOR" not in os.environ and target.isatty()
    if width is None:
        width = terminal_width(target)
    logical = brief_lines(report) if brief else report_lines(report, verbose=verbose)
    lines = [(line.style, part) for line in logical for part in wrap(line, width)]
    if color:
        # rich only when colour is wanted: importing it costs more than the whole warm doctor run.
        from rich.console import Console
        from rich.text import Text

        buf = io.StringIO()
        console = Console(
            file=buf, force_terminal=True, highlight=False, soft_wrap=True, width=width or 100, emoji=False
        )
        for style, text in lines:
            console.print(Text(text, style=style))
        rendered = buf.getvalue()
    else:
        rendered = "".join(text + "\n" for _, text in lines)
    if out is not None:
        out.write(rendered)
    return rendered
