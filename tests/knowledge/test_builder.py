"""The knowledge-base builder, offline on a tiny cache of wheels, reproduces the committed rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.version import Version
from wheelfactory import DIFFUSERS_NEW, DIFFUSERS_OLD, hub_files, wheel

from gator_setup.knowledge.builder import (
    BuildError,
    Source,
    Sources,
    WheelCache,
    build_rules,
    render_rules,
    select_versions,
)
from gator_setup.knowledge.rules import KNOWLEDGE_DIR, load_rule_file, load_rules


@pytest.fixture
def tiny_cache(tmp_path: Path) -> Path:
    wheels = tmp_path / "wheels"
    for v in ("0.25.2", "0.26.0"):
        wheel(wheels, "huggingface_hub", v, hub_files(v))
    wheel(wheels, "diffusers", "0.28.2", DIFFUSERS_OLD, "huggingface-hub>=0.20.2")
    wheel(wheels, "diffusers", "0.29.0", DIFFUSERS_NEW, "huggingface-hub>=0.23.2")
    index = tmp_path / "index"
    index.mkdir()
    (index / "huggingface-hub.json").write_text(json.dumps(["0.25.2", "0.26.0"]))
    (index / "diffusers.json").write_text(json.dumps(["0.28.2", "0.29.0"]))
    return tmp_path


SOURCES = Sources(
    provider=Source("huggingface_hub", "huggingface_hub", since="0.25.0"),
    consumers=(Source("diffusers", "diffusers", since="0.28.0"),),
)


def test_offline_build_reproduces_the_committed_rule(tiny_cache: Path) -> None:
    cache = WheelCache(tiny_cache, offline=True)
    rules = build_rules(
        SOURCES, cache, built="2026-11-23", verified=load_rules([KNOWLEDGE_DIR / "rules.toml"])
    )
    assert cache.downloads == 0
    (rule,) = rules  # guarded and auxiliary-file imports of missing names are not rules
    committed = {r.id: r for r in load_rule_file(KNOWLEDGE_DIR / "generated_rules.toml")}[rule["id"]]
    assert rule["packages"] == {"diffusers": "<0.29.0", "huggingface_hub": ">=0.26.0"}
    assert {k: str(v) for k, v in committed.packages.items()} == {
        "diffusers": "<0.29.0",
        "huggingface-hub": ">=0.26.0",
    }
    for key in ("error", "fails_at", "fix", "severity", "symbol", "title"):
        assert str(rule[key]) == str(
            getattr(committed, key).label if key == "severity" else getattr(committed, key)
        )
    assert list(rule["alternatives"]) == list(committed.alternatives)
    for key in ("consumer_boundary", "provider_boundary"):
        assert rule["provenance"][key] == committed.provenance[key]
    assert (
        rule["provenance"]["import_site"] == "diffusers/utils/dynamic_modules_utils.py:28 in diffusers 0.28.2"
    )
    # The hand-verified rule covers it: the generated one is kept as a cross-check, not reported twice.
    assert rule["fact_only"] is True and rule["provenance"]["confirms"].endswith("(same ranges)")


def test_rendered_file_loads(tiny_cache: Path, tmp_path: Path) -> None:
    rules = build_rules(SOURCES, WheelCache(tiny_cache, offline=True), built="2026-11-23")
    out = tmp_path / "gen.toml"
    out.write_text(render_rules(rules, "# test\n"))
    (loaded,) = load_rule_file(out)
    assert loaded.packages["diffusers"].contains("0.28.2") and not loaded.fact_only


def test_offline_without_the_wheel_is_a_clear_error(tiny_cache: Path) -> None:
    (tiny_cache / "index" / "diffusers.json").write_text(json.dumps(["0.28.2", "0.28.3", "0.29.0"]))
    sources = Sources(
        SOURCES.provider, (Source("diffusers", "diffusers", since="0.28.0", extra=("0.28.3",)),)
    )
    with pytest.raises(BuildError, match=r"offline and diffusers==0.28.3 is not in the cache"):
        build_rules(sources, WheelCache(tiny_cache, offline=True), built="x")


def test_select_versions_takes_latest_patch_per_minor() -> None:
    avail = [Version(v) for v in ("0.27.0", "0.27.2", "0.28.0rc1", "0.28.1", "0.29.0", "0.30.0", "0.31.0")]
    assert [str(v) for v in select_versions(avail, Source("d", "d", since="0.27.0"))] == [
        "0.27.2",
        "0.28.1",
        "0.29.0",
        "0.30.0",
        "0.31.0",
    ]
    picked = select_versions(avail, Source("d", "d", since="0.27.0", step=2, extra=("0.27.0",)))
    assert [str(v) for v in picked] == ["0.27.0", "0.27.2", "0.29.0", "0.31.0"]


def test_scans_are_cached_on_disk_and_reused(tiny_cache: Path) -> None:
    first = build_rules(SOURCES, WheelCache(tiny_cache, offline=True), built="x")
    cached = list((tiny_cache / "scans").rglob("*.json"))
    assert len(cached) == 2  # one per diffusers wheel
    # A damaged entry is recomputed, never trusted or fatal.
    cached[0].write_text("{not json")
    assert build_rules(SOURCES, WheelCache(tiny_cache, offline=True), built="x") == first
