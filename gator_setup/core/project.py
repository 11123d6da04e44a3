"""Which folder is "the project": the nearest one at or above the working directory that looks like one.

Without this, `gator doctor` run from any folder (a temp folder of unpacked wheels, the home
folder) scanned that folder as the project and reported files that have nothing to do with the
environment. Also: the project's .gitignore as exclude patterns for the project scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

#: Files or folders whose presence makes a folder a project.
MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
MARKER_GLOBS = ("requirements*.txt",)


def is_project(folder: Path) -> bool:
    """Whether `folder` holds a project marker (pyproject.toml, setup.py, setup.cfg, .git,
    requirements*.txt)."""
    if any((folder / m).exists() for m in MARKERS):
        return True
    try:
        return any(any(folder.glob(g)) for g in MARKER_GLOBS)
    except OSError:
        return False


def find_project(start: Path) -> Path | None:
    """The nearest folder at or above `start` that is a project, or None (the home folder and the
    filesystem root only count when they are `start` itself: a stray ~/.git is not everyone's project)."""
    start = start.resolve()
    home = Path.home().resolve() if Path.home().exists() else None
    for folder in (start, *start.parents):
        if folder != start and (folder == home or folder.parent == folder):
            return None
        if is_project(folder):
            return folder
    return None


def resolve_project(project: str | Path | None, cwd: Path | None = None) -> tuple[str | None, str | None]:
    """(project folder or None, a note for the report): `--project DIR` as given, else the nearest
    project at or above `cwd`; None with a note when there is none (the project scan is skipped)."""
    if project is not None:
        return str(project), None
    here = (cwd or Path.cwd()).resolve()
    found = find_project(here)
    if found is None:
        return None, (
            f"No project at or above {here} (pyproject.toml, setup.py, setup.cfg, requirements*.txt, "
            ".git): no project code scanned; --project DIR names one."
        )
    return str(found), None


def gitignore_excludes(root: Path) -> tuple[str, ...]:
    """The root .gitignore of a project as the project scan's exclude globs (matched against paths
    relative to the root, `*` crossing folders). Negations (`!pattern`) cannot be expressed as an
    exclusion and are left out: a path they re-include stays excluded."""
    try:
        text = (root / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    return tuple(dict.fromkeys(_globs(text)))


def _globs(text: str) -> Iterator[str]:
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.startswith(("#", "!")):
            continue
        line = line.replace("\\ ", " ").rstrip("/")
        if not line:
            continue
        while line.startswith("**/"):  # "**/name": at any depth, like a bare name
            line = line[3:]
        anchored = "/" in line
        line = line.lstrip("/").replace("/**/", "/*/")
        if line.endswith("/**"):
            line = line[:-3]
        if not line:
            continue
        # (a folder that matches is not walked into, so its files need no pattern of their own)
        if anchored:
            yield line
        else:
            yield line
            yield f"*/{line}"
