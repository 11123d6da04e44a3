"""The knowledge base loads, validates, and its reproductions agree with its ranges."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from gator_setup.errors import InputError
from gator_setup.knowledge.rules import load_rule_file, load_rules, matching_rules

GOOD_RULE = """
schema_version = 1
[[rule]]
id = "x-y"
title = "x < 2 with y >= 1"
severity = "error"
packages = { x = "<2", y = ">=1" }
error = "ImportError: boom"
fix = "x>=2"
[rule.reproduction]
date = "2026-11-23"
python = "3.11"
run = "import x"
cases = [{ install = ["x==1", "y==1"], expect = "fail", observed = "ImportError: boom" }]
"""


def test_shipped_rules_load_with_unique_ids() -> None:
    rules = load_rules()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    assert {"diffusers-hub-cached-download", "torch-numpy2-abi", "diffusers-hub1-hf-cache-home"} <= set(ids)


def test_shipped_rules_pass_the_full_validation() -> None:
    # The doctor loads the package's own rule files `trusted` (their requirement strings are not
    # parsed on every run); this is the full validation that trust rests on, and both loads agree.
    from gator_setup.knowledge.rules import DEFAULT_FILES, KNOWLEDGE_DIR

    for name in DEFAULT_FILES:
        full = load_rule_file(KNOWLEDGE_DIR / name)
        assert full == load_rule_file(KNOWLEDGE_DIR / name, trusted=True)
    assert [r.id for r in load_rules()] == [
        r.id for name in DEFAULT_FILES for r in load_rule_file(KNOWLEDGE_DIR / name)
    ]


def test_trusted_skips_only_the_requirement_parse(tmp_path: Path) -> None:
    bad = tmp_path / "r.toml"
    bad.write_text(GOOD_RULE.replace('fix = "x>=2"', 'fix = "x >>= 2"'), "utf-8")
    with pytest.raises(InputError, match="is not a requirement"):
        load_rule_file(bad)
    assert load_rule_file(bad, trusted=True)[0].fix == "x >>= 2"
    bad.write_text(GOOD_RULE.replace('y = ">=1"', 'y = ">>=1"'), "utf-8")
    with pytest.raises(InputError, match="invalid specifier"):
        load_rule_file(bad, trusted=True)  # specifiers are parsed (and needed) either way


def test_every_reproduction_case_agrees_with_the_rule_ranges() -> None:
    # A "fail" case must fall inside the rule; an "ok" case must not hit any rule of the same run.
    rules = load_rules(Path(p) for p in [Path("gator_setup/knowledge/rules.toml")])
    for rule in rules:
        assert rule.reproduction is not None, rule.id
        for case in rule.reproduction.cases:
            pins = case.pins()
            pinned_all = all(n in pins for n in rule.packages)
            if case.expect == "fail" and pinned_all:
                assert rule.matches(pins), (rule.id, case.install)
            if case.expect in ("ok", "other") and pinned_all:
                assert not rule.matches(pins), (rule.id, case.install)


def test_cached_download_boundaries() -> None:
    rule = next(r for r in load_rules() if r.id == "diffusers-hub-cached-download")
    hit = {"diffusers": Version("0.28.2"), "huggingface-hub": Version("0.26.0")}
    assert rule.matches(hit)
    assert not rule.matches({**hit, "diffusers": Version("0.29.0")})
    assert not rule.matches({**hit, "huggingface-hub": Version("0.25.2")})
    assert rule.fix == "diffusers>=0.29.0"
    assert "cached_download" in rule.error


def test_supersedes_drops_the_shadowed_rule() -> None:
    versions = {"diffusers": Version("0.24.0"), "huggingface-hub": Version("1.0.0")}
    ids = [r.id for r in matching_rules(load_rules(), versions)]
    assert ids == ["diffusers-hub1-hf-cache-home"]


def test_fact_only_rules_are_not_reported_by_default() -> None:
    versions = {"huggingface-hub": Version("0.26.0")}
    assert matching_rules(load_rules(), versions) == []
    ids = [r.id for r in matching_rules(load_rules(), versions, include_fact_only=True)]
    assert ids == ["hub-removed-cached-download"]


def test_good_rule_file_parses(tmp_path: Path) -> None:
    f = tmp_path / "r.toml"
    f.write_text(GOOD_RULE)
    (rule,) = load_rule_file(f)
    assert rule.packages["x"].contains("1.5")
    assert "uv pip install" in rule.reproduction.commands(rule.reproduction.cases[0])  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('packages = { x = "<2", y = ">=1" }', 'packages = { x = "<<2" }', "invalid specifier '<<2' for x"),
        ('severity = "error"', 'severity = "fatal"', "unknown severity 'fatal'"),
        ('fix = "x>=2"', 'fix = "upgrade it"', "is not a requirement"),
        ('error = "ImportError: boom"', 'error = "ImportError: boom"\ncolour = 1', "unknown key(s): colour"),
        ('expect = "fail"', 'expect = "maybe"', "expect must be 'fail', 'ok' or 'other'"),
    ],
)
def test_bad_rule_data_names_file_and_rule(tmp_path: Path, old: str, new: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(GOOD_RULE.replace(old, new))
    with pytest.raises(InputError) as info:
        load_rule_file(f)
    text = str(info.value)
    assert str(f) in text and "rule 'x-y'" in text and message in text


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(GOOD_RULE)
    b.write_text(GOOD_RULE)
    with pytest.raises(InputError, match="defined twice"):
        load_rules([a, b])


def test_malformed_toml_gives_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "broken.toml"
    f.write_text('schema_version = 1\n[[rule]\nid = "x"\n')
    with pytest.raises(InputError, match=r"broken.toml:2: invalid TOML"):
        load_rule_file(f)


def test_docs_table_matches_the_data() -> None:
    from gator_setup.knowledge.rules import KNOWLEDGE_DIR, markdown_table

    docs = (Path(__file__).resolve().parents[2] / "docs" / "knowledge.md").read_text()
    table = docs.split("-->\n", 1)[1].split("\n<!-- rules-table:end", 1)[0]
    assert table == markdown_table(load_rules([KNOWLEDGE_DIR / "rules.toml"]))
