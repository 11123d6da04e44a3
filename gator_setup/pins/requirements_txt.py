"""Parse pip requirements and constraints files, following -r / -c includes."""

from __future__ import annotations

import os
import re
from pathlib import Path

from gator_setup.errors import InputError
from gator_setup.pins.model import Declaration

_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)$")
# Per-requirement options pip allows after the requirement itself.
_TRAILING_OPTS = re.compile(r"\s+--(hash|global-option|config-settings|install-option)[=\s]\S+")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations and drop comments; yield (first line number, text)."""
    out: list[tuple[int, str]] = []
    buf = ""
    start = 0
    for n, line in enumerate(text.splitlines(), 1):
        if not buf:
            start = n
        stripped = re.sub(r"(^|\s)#.*$", "", line)
        if stripped.rstrip().endswith("\\"):
            buf += stripped.rstrip()[:-1] + " "
            continue
        buf += stripped
        if buf.strip():
            out.append((start, buf.strip()))
        buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out


def parse_requirements_file(
    path: Path, *, kind: str = "requirement", _seen: set[Path] | None = None
) -> list[Declaration]:
    """Declarations of one requirements file and the files it includes (cycles are cut)."""
    seen = _seen if _seen is not None else set()
    real = path.resolve()
    if real in seen:
        return []
    seen.add(real)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    decls: list[Declaration] = []
    for lineno, line in _logical_lines(text):
        inc = _INCLUDE.match(line)
        if inc:
            target = Path(os.path.normpath(path.parent / inc.group(2)))
            sub_kind = "constraint" if inc.group(1) in ("-c", "--constraint") else kind
            if not target.exists():
                raise InputError(path, f"included file {inc.group(2)!r} not found", line=lineno)
            decls += parse_requirements_file(target, kind=sub_kind, _seen=seen)
            continue
        if line.startswith("-"):
            # -e/--editable, --index-url, --find-links...: no version range to check.
            continue
        line = _TRAILING_OPTS.sub("", line)
        if re.match(r"^(\.|/|[a-z+]+://)", line):
            continue  # a local path or bare URL: nothing to compare
        decl = Declaration.parse(line, path, lineno, kind=kind)
        if decl is not None:
            decls.append(decl)
    return decls
