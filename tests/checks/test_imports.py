"""GTR101: the probe on a fake site-packages, its cache, and the expert judgement of each import."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import snapshot

from gator_setup.checks.base import NotApplicable, Severity
from gator_setup.checks.imports import ProviderImportsExist
from gator_setup.probes.imports import ImportFacts, ImportIssue, probe_imports
from gator_setup.probes.python_env import read_distributions


@pytest.fixture(autouse=True)
def _private_imports_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake `fancy 1.0` differs per test: never share its cache entry across tests."""
    monkeypatch.setenv("GATOR_IMPORTS_CACHE", str(tmp_path / "imports-cache"))


def make_dist(
    site: Path, name: str, version: str, files: dict[str, str], requires: tuple[str, ...] = ()
) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    reqs = "".join(f"Requires-Dist: {r}\n" for r in requires)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{reqs}")
    record = []
    for rel, text in files.items():
        p = site / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        record.append(f"{rel},,")
    (info / "RECORD").write_text("\n".join([*record, f"{info.name}/METADATA,,"]) + "\n")


def fake_env(site: Path) -> None:
    make_dist(
        site,
        "huggingface_hub",
        "0.26.0",
        {
            "huggingface_hub/__init__.py": "_SUBMOD_ATTRS = {'file_download': ['hf_hub_download']}\n"
            "__getattr__, __dir__ = _attach(__name__, submod_attrs=_SUBMOD_ATTRS)\n",
            "huggingface_hub/file_download.py": "def hf_hub_download(): pass\n",
        },
    )
    make_dist(
        site,
        "fancy",
        "1.0",
        {
            "fancy/__init__.py": "from .utils import helpers\n_LAZY = {'_lazy_mod': ['thing']}\n",
            "fancy/_lazy_mod.py": "from huggingface_hub import gone_lazily\n",
            "fancy/utils/__init__.py": "from .dyn import load\n",
            "fancy/utils/dyn.py": "from huggingface_hub import cached_download, hf_hub_download\n",
            "fancy/_extra.py": "from huggingface_hub import gone_in_extra\n",
            "fancy/opt.py": "try:\n    from huggingface_hub import guarded_name\n"
            "except ImportError:\n    pass\n"
            "def later():\n    from huggingface_hub import in_function\n",
            "fancy/tests/test_x.py": "from huggingface_hub import only_in_tests\n",
        },
        requires=("huggingface-hub>=0.19",),
    )


def test_probe_and_verdicts(tmp_path: Path) -> None:
    site = tmp_path / "site"
    fake_env(site)
    dists, _ = read_distributions([str(site)])
    facts = probe_imports([str(site)], dists, None)
    assert facts.scanned == {"fancy": "1.0"}
    by_name = {i.missing: i for i in facts.issues}
    assert set(by_name) == {
        "cached_download",
        "gone_in_extra",
        "gone_lazily",
        "guarded_name",
        "in_function",
        "only_in_tests",
    }
    assert by_name["cached_download"].import_time and not by_name["gone_in_extra"].import_time

    findings = list(ProviderImportsExist().run(snapshot(imports=facts)))
    errors = [f for f in findings if f.severity is Severity.ERROR]
    assert len(errors) == 2
    top = next(f for f in errors if "cached_download" in f.message)
    assert top.message.startswith("`import fancy` fails: fancy 1.0 imports `cached_download`")
    assert "huggingface_hub 0.26.0" in top.message and "fancy/utils/dyn.py:1" in top.message
    assert top.fix is not None and "pip install -U fancy" in top.fix
    assert "huggingface_hub<0.26.0" in top.fix  # removal version known from deprecations.toml
    lazy = next(f for f in errors if "gone_lazily" in f.message)
    assert "importing `fancy._lazy_mod` fails" in lazy.message
    assert "fancy names fancy._lazy_mod" in lazy.evidence["reach"]  # the lazy table reaches it
    # fancy._extra: no module imports or names it, no entry point: a warning, not an error.
    extra = next(f for f in findings if "gone_in_extra" in f.message)
    assert extra.severity is Severity.WARNING and "nothing users import reaches" in extra.message
    infos = [f for f in findings if f.severity is Severity.INFO]
    assert len(infos) == 1 and "in_function" in infos[0].message and "only_in_tests" in infos[0].message
    assert not any("guarded_name" in f.message for f in findings)


def test_second_run_is_served_from_cache(tmp_path: Path) -> None:
    site = tmp_path / "site"
    fake_env(site)
    dists, _ = read_distributions([str(site)])
    first = probe_imports([str(site)], dists, None)
    assert first.stats["parsed"] == 1 and first.stats["cache_hits"] == 0
    # If the second run parsed anything it would now see a syntax error and lose the issue.
    (site / "fancy" / "utils" / "dyn.py").write_text("def (:\n")
    second = probe_imports([str(site)], dists, None)
    assert second.stats["cache_hits"] == 1 and second.stats["parsed"] == 0
    assert {i.missing for i in second.issues} == {i.missing for i in first.issues}


def test_unreadable_distribution_is_a_problem(tmp_path: Path) -> None:
    site = tmp_path / "site"
    fake_env(site)
    (site / "fancy-1.0.dist-info" / "RECORD").unlink()
    dists, _ = read_distributions([str(site)])
    facts = probe_imports([str(site)], dists, None)
    assert facts.issues == [] and len(facts.problems) == 1
    assert "no RECORD" in facts.problems[0].message
    findings = list(ProviderImportsExist().run(snapshot(imports=facts)))
    assert [f.severity for f in findings] == [Severity.INFO]


def test_project_imports_are_judged_too(tmp_path: Path) -> None:
    site = tmp_path / "site"
    fake_env(site)
    proj = tmp_path / "proj"
    (proj / "app").mkdir(parents=True)
    (proj / "app" / "main.py").write_text("from huggingface_hub import not_there\n")
    (proj / "app" / "bad.py").write_text("import huggingface_hub\ndef (:\n")
    dists, _ = read_distributions([str(site)])
    facts = probe_imports([str(site)], dists, str(proj), exclude=("*/ignored_*",))
    findings = list(ProviderImportsExist().run(snapshot(imports=facts, project_dir=str(proj))))
    err = [f for f in findings if f.severity is Severity.ERROR and "not_there" in f.message]
    assert len(err) == 1 and err[0].message.startswith("app/main.py:1 imports `not_there`")
    # A project file has no release to pin back to: the fix says so instead of naming "project None".
    assert err[0].fix is not None and "None" not in err[0].fix and "release that still has it" in err[0].fix
    warn = [f for f in findings if f.severity is Severity.WARNING and "not analysed" in f.message]
    assert len(warn) == 1 and "syntax error" in warn[0].message


def test_no_facts_is_not_applicable() -> None:
    with pytest.raises(NotApplicable):
        list(ProviderImportsExist().run(snapshot()))
    issue = ImportIssue(
        "x",
        "1",
        "/p",
        "x/a.py",
        1,
        "m",
        "n",
        "missing-name",
        "n",
        "m",
        "1",
        "try",
        "module",
        "runtime",
        "x.a",
    )
    assert list(ProviderImportsExist().run(snapshot(imports=ImportFacts(issues=[issue])))) == []
