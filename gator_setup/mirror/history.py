"""Commit history: walking it, the Hub's JSON shape of a commit, the last commit of tree entries."""

from __future__ import annotations

import collections
import functools
from collections.abc import Iterator
from typing import Any

from gator_setup.mirror import gitobj
from gator_setup.mirror.ids import RepoRef
from gator_setup.mirror.store import Store

MAX_WALK = 10_000  # commits walked to date tree entries (older ones are dated by the oldest walked)


def walk(store: Store, ref: RepoRef, sha: str, limit: int = MAX_WALK) -> Iterator[dict[str, Any]]:
    """Commits reachable from `sha`, newest first (the mirror's history is linear, so first parents)."""
    seen: set[str] = set()
    todo = collections.deque([sha])
    while todo and len(seen) < limit:
        cur = todo.popleft()
        if cur in seen:
            continue
        seen.add(cur)
        commit = store.get_commit(ref, cur)
        if commit is None:
            continue
        yield commit
        todo.extend(commit.get("parents") or [])


def split_message(message: str) -> tuple[str, str]:
    """(title, body) of a commit message as the Hub shows them."""
    title, _, rest = message.partition("\n")
    return title, rest.lstrip("\n")


def commit_item(commit: dict[str, Any]) -> dict[str, Any]:
    """One commit in the Hub's /commits JSON shape."""
    title, body = split_message(str(commit.get("message") or ""))
    return {
        "id": commit["id"],
        "title": title,
        "message": body,
        "authors": [{"user": str(commit.get("author") or "gator"), "avatar": None}],
        "date": commit.get("time"),
    }


def _path_oids(files: dict[str, Any]) -> dict[str, str]:
    """Every file and folder of a tree with its git id (folders by their tree id)."""
    _, dirs = gitobj.tree_oid(files)
    out = {p: str(e["oid"]) for p, e in files.items()}
    out.update(dirs)
    return out


@functools.lru_cache(maxsize=64)
def _last_commits(store: Store, ref: RepoRef, sha: str) -> dict[str, dict[str, Any]]:
    # Keyed by commit id: commits are immutable, so an answer never goes stale.
    result: dict[str, dict[str, Any]] = {}
    history = list(walk(store, ref, sha))
    if not history:
        return result
    current = _path_oids(history[0]["files"])
    pending = dict(current)
    for i, commit in enumerate(history):
        parent = history[i + 1] if i + 1 < len(history) else None
        before = _path_oids(parent["files"]) if parent else {}
        title, _ = split_message(str(commit.get("message") or ""))
        stamp = {"id": commit["id"], "title": title, "date": commit.get("time")}
        for path in [p for p, oid in pending.items() if before.get(p) != oid]:
            result[path] = stamp
            del pending[path]
        if not pending:
            break
    oldest = history[-1]
    for path in pending:  # older than the walk reached: dated by the oldest commit walked
        result[path] = {
            "id": oldest["id"],
            "title": split_message(oldest.get("message", ""))[0],
            "date": oldest.get("time"),
        }
    return result


def add_last_commits(store: Store, ref: RepoRef, sha: str, entries: list[dict[str, Any]]) -> None:
    """Set `lastCommit` ({id, title, date}) on tree or paths-info entries of commit `sha` (expand=true)."""
    last = _last_commits(store, ref, sha)
    for entry in entries:
        stamp = last.get(entry["path"])
        if stamp is not None:
            entry["lastCommit"] = dict(stamp)
