"""Model card metadata: the README's YAML front matter as `cardData`, and the tags the Hub derives from it."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import yaml

from gator_setup.mirror.store import Store

MAX_README = 1024 * 1024  # a card larger than this is not parsed (the Hub caps model cards too)


def front_matter(text: str) -> dict[str, Any]:
    """The YAML mapping between a leading `---` line and the next `---` line; {} when absent or invalid."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            try:
                data = yaml.safe_load("\n".join(lines[1:end]))
            except yaml.YAMLError:
                return {}
            # YAML dates and other non-JSON scalars become strings, as the Hub's JSON shows them.
            return json.loads(json.dumps(data, default=str)) if isinstance(data, dict) else {}
    return {}


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def card_tags(card: dict[str, Any], repo_type: str) -> list[str]:
    """Tags as the Hub derives them from a card: its `tags`, library, pipeline, `license:`, `dataset:`,
    languages and `base_model:` (datasets: `task_categories:`, `size_categories:` ...)."""
    tags: list[str] = []
    tags += _as_list(card.get("tags"))
    if repo_type == "model":
        tags += _as_list(card.get("library_name"))
        tags += _as_list(card.get("pipeline_tag"))
        tags += [f"dataset:{d}" for d in _as_list(card.get("datasets"))]
        tags += [f"base_model:{b}" for b in _as_list(card.get("base_model"))]
    elif repo_type == "dataset":
        for key in ("task_categories", "task_ids", "size_categories", "modality", "format"):
            tags += [f"{key}:{v}" for v in _as_list(card.get(key))]
    tags += _as_list(card.get("language"))
    tags += [f"license:{x}" for x in _as_list(card.get("license"))]
    return list(dict.fromkeys(tags))


@functools.lru_cache(maxsize=256)
def _card_of_blob(blob: Path, size: int) -> dict[str, Any]:
    # Keyed by the content-addressed blob path: a README's card is parsed once per content.
    if size > MAX_README:
        return {}
    try:
        text = blob.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    return front_matter(text)


def card_of_commit(store: Store, commit: dict[str, Any]) -> dict[str, Any]:
    """The card data of README.md in `commit` ({} without a README, or when its content is not stored)."""
    entry = commit.get("files", {}).get("README.md")
    if not entry or not entry.get("sha256") or not store.has_blob(entry["sha256"]):
        return {}
    return dict(_card_of_blob(store.blob_path(entry["sha256"]), int(entry["size"])))


def card_fields(store: Store, commit: dict[str, Any], repo_type: str) -> dict[str, Any]:
    """The repo-info fields a card gives: cardData, tags, and for models library_name / pipeline_tag."""
    card = card_of_commit(store, commit)
    if not card:
        return {}
    out: dict[str, Any] = {"cardData": card, "tags": card_tags(card, repo_type)}
    if repo_type == "model":
        for key in ("library_name", "pipeline_tag"):
            if isinstance(card.get(key), str):
                out[key] = card[key]
    return out
