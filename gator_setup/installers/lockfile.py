"""gator-models.lock: the exact repo commit, files, sizes and hashes of each installed model (TOML)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gator_setup.installers.errors import InstallError
from gator_setup.tomlread import load_toml

LOCK_NAME = "gator-models.lock"
LOCK_VERSION = 1


@dataclass(frozen=True)
class LockedFile:
    """One file as installed."""

    path: str
    size: int
    sha256: str | None
    git_oid: str | None


@dataclass(frozen=True)
class LockedModel:
    """One model as installed: enough to fetch exactly the same bytes elsewhere."""

    name: str
    repo: str
    commit: str
    kind: str
    variant: str | None
    files: tuple[LockedFile, ...]


def read_lock(path: Path) -> dict[str, LockedModel]:
    """Parse a lock file; an invalid one is an InputError naming the file."""
    data = load_toml(path)
    if data.get("version") != LOCK_VERSION:
        raise InstallError(
            f"{path}: unsupported lock version {data.get('version')!r} (expected {LOCK_VERSION})."
        )
    out: dict[str, LockedModel] = {}
    for m in data.get("model", []):
        try:
            files = tuple(
                LockedFile(f["path"], int(f["size"]), f.get("sha256"), f.get("git_oid")) for f in m["files"]
            )
            out[m["name"]] = LockedModel(
                m["name"], m["repo"], m["commit"], m["kind"], m.get("variant"), files
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InstallError(f"{path}: malformed [[model]] entry ({exc!r}).") from None
    return out


def _model_table(m: LockedModel) -> dict[str, Any]:
    table: dict[str, Any] = {"name": m.name, "repo": m.repo, "commit": m.commit, "kind": m.kind}
    if m.variant:
        table["variant"] = m.variant
    files = []
    for f in m.files:
        row: dict[str, Any] = {"path": f.path, "size": f.size}
        if f.sha256:
            row["sha256"] = f.sha256
        if f.git_oid:
            row["git_oid"] = f.git_oid
        files.append(row)
    table["files"] = files
    return table


def write_lock(path: Path, models: Iterable[LockedModel]) -> None:
    """Merge `models` into the lock at `path` (same name replaced), written atomically."""
    import tomli_w

    current = read_lock(path) if path.is_file() else {}
    for m in models:
        current[m.name] = m
    doc = {
        "version": LOCK_VERSION,
        "model": [_model_table(m) for m in sorted(current.values(), key=lambda m: m.name)],
    }
    text = "# Written by `gator install-models`; install exactly this with --locked.\n" + tomli_w.dumps(doc)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
