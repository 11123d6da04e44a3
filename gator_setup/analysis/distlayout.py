"""Which top-level entries of a packages folder (site-packages) belong to which installed distribution.

`gator scan` of a site-packages reuses a distribution's cached per-file results without walking
or stat'ing its files while the distribution is unchanged. "Unchanged" is its identity: the
dist-info folder's name (name + version) and its RECORD file's (inode, mtime_ns, size); pip and
uv write a new RECORD on every install, upgrade or reinstall. A top-level entry (folder or .py
file) is owned by a distribution when that distribution's RECORD is the only one naming it;
shared namespace folders (e.g. `nvidia/`) are walked file by file as before. The owners come
from the RECORD files, read once per identity and cached (a small JSON file per folder, which
does not depend on the providers, so it is usable before the inspected interpreter answers).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gator_setup.cachedir import write_cache_json

#: (dist-info folder name, RECORD identity [inode, mtime_ns, size]) of a top-level entry's owner
Owner = tuple[str, list[int]]

#: Names that mark a folder as holding installed distributions when it is walked
PACKAGES_DIR_NAMES = frozenset({"site-packages", "dist-packages"})


def is_packages_dir(rel_dir: str, names: Sequence[str]) -> bool:
    """Whether a walked folder (the root, or one named like site-packages) lists dist-info folders."""
    if rel_dir and rel_dir.rstrip("/").rsplit("/", 1)[-1] not in PACKAGES_DIR_NAMES:
        return False
    return any(n.endswith(".dist-info") for n in names)


def record_identity(dist_info: str) -> list[int] | None:
    """[inode, mtime_ns, size] of a dist-info folder's RECORD, or None without one."""
    try:
        st = os.stat(os.path.join(dist_info, "RECORD"))
    except OSError:
        return None
    return [st.st_ino, st.st_mtime_ns, st.st_size]


#: The first path segment of a RECORD line (up to "/" or ","), with the lines right after it that
#: share it consumed in the same match (RECORD lists a package's files together, so one match
#: covers a whole package instead of one per line). Quoted lines do not match; csv reads them.
_TOP = re.compile(r"^([^/,\r\n\"]+)[/,].*(?:\n\1[/,].*)*", re.MULTILINE)


def record_tops(dist_info: str) -> list[str]:
    """The top-level entries (folders and modules) a RECORD lists, outside the dist-info itself."""
    try:
        with open(os.path.join(dist_info, "RECORD"), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return []
    # one regex pass (torch's RECORD has 12 000 lines); the rare quoted paths go through csv
    found = set(_TOP.findall(text.replace("\\", "/")))
    if '"' in text:
        import csv

        quoted = [line for line in text.splitlines() if line.startswith('"')]
        for row in csv.reader(quoted):
            if row:
                found.add(row[0].replace("\\", "/").split("/", 1)[0])
    return sorted(
        top
        for top in found
        if top and top not in (".", "..", "__pycache__") and not top.endswith((".dist-info", ".data"))
    )


def owners(dirpath: str, names: Sequence[str], layout_dir: Path | None) -> dict[str, Owner]:
    """Top-level name -> owner, for the entries a single distribution with a RECORD claims.

    `layout_dir`: where each packages folder's owners are cached (one file per folder).

    Empty when a legacy `.egg-info` install is present (its files are not listed in a RECORD, so
    a folder it shares with another distribution could change behind that one's back).
    """
    if any(n.endswith((".egg-info", ".egg-link")) for n in names):
        return {}
    layout_file = None
    if layout_dir is not None:
        from gator_setup.shorthash import short_hash

        key = short_hash(os.path.abspath(dirpath), 24)
        layout_file = layout_dir / f"{key}.json"
    cached = _load(layout_file)
    fresh: dict[str, list[Any]] = {}
    claims: dict[str, Owner | None] = {}
    for name in names:
        if not name.endswith(".dist-info"):
            continue
        full = os.path.join(dirpath, name)
        ident = record_identity(full)
        if ident is None:
            continue
        hit = cached.get(name)
        if (
            isinstance(hit, list)
            and len(hit) == 4
            and hit[:3] == ident
            and isinstance(hit[3], list)
            and all(isinstance(t, str) for t in hit[3])
        ):
            tops = hit[3]
        else:
            tops = record_tops(full)
        fresh[name] = [*ident, tops]
        for top in tops:
            # a name claimed twice (a namespace folder shared by several distributions) has no owner
            claims[top] = None if top in claims else (name, ident)
    if layout_file is not None and fresh != cached:
        write_cache_json(layout_file, fresh)
    return {top: owner for top, owner in claims.items() if owner is not None}


def _load(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
