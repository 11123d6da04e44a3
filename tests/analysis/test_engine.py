"""One engine: a list of files (an installed distribution's RECORD) goes through the same pipeline
as a tree, and the engine's variants are chosen by its callers, never by the environment."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from gator_setup.analysis import Provider, Providers, speedups
from gator_setup.analysis import scan as scan_mod
from gator_setup.analysis.scan import analyze_files, scan_tree
from gator_setup.cli.output import engine_workers

ENGINE = Path(scan_mod.__file__).resolve().parent
SOURCE = "from huggingface_hub import hf_hub_download, cached_download\nimport huggingface_hub.commands\n"


def fake_hub(root: Path) -> Providers:
    pkg = root / "site" / "huggingface_hub"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .file_download import hf_hub_download\n")
    (pkg / "file_download.py").write_text("def hf_hub_download(): pass\n")
    return Providers([Provider("huggingface_hub", "huggingface_hub", "9.0.0", root / "site")])


def test_the_engine_reads_no_environment_variable() -> None:
    used = {
        p.name: m.group(0)
        for p in ENGINE.glob("*.py")
        if (m := re.search(r"os\.environ|os\.getenv|getenv\(", p.read_text("utf-8")))
    }
    assert used == {}, "engine variants are passed in (cli/output.py engine_workers selects them)"


def _tree(root: Path) -> list[tuple[str, str]]:
    files = {
        "pkg/__init__.py": "from pkg import a\n",
        "pkg/a.py": SOURCE,
        "pkg/ok.py": "from huggingface_hub import hf_hub_download\n",
        "pkg/plain.py": "import os\n",
        "pkg/bad.py": "import huggingface_hub\nfrom huggingface_hub import nope\nif (:\n",
        "huggingface_hub_user.py": "def f():\n    from huggingface_hub import gone\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return [(str(root / rel), rel) for rel in sorted(files)]


def _issues(res: object) -> set[tuple[str, str, str]]:
    return {(i.file.path, i.unresolved.kind, i.unresolved.missing) for i in res}  # type: ignore[attr-defined]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_list_gets_what_a_tree_scan_gets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    providers = fake_hub(tmp_path)
    site = tmp_path / "lib"
    files = _tree(site)
    monkeypatch.setattr(scan_mod, "PARALLEL_MIN_FILES", 2)  # forks even for these few files
    got = analyze_files(files, providers, deep_needles=(), workers=workers)
    assert set(got) == {rel for _p, rel in files}
    tree = scan_tree(site, providers, deep_needles=())
    assert _issues(i for r in got.values() for i in r.issues) == _issues(tree.issues)
    assert {r.analysis.problem.message for r in got.values() if r.analysis and r.analysis.problem} == {
        p.message for p in tree.problems
    }
    assert got["pkg/plain.py"] == (None, [], None, None) and got["pkg/ok.py"] == (None, [], None, None)


def _lines_with(data: bytes) -> list[int]:
    return [
        n for n, line in enumerate(data.split(b"\n"), 1) if b"huggingface_hub" in line and b"import" in line
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_question_is_answered_in_the_same_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Another probe's question is asked of every file read, those analysed and those read for
    it alone (whose imports are not analysed); only files holding all its needles are asked."""
    providers = fake_hub(tmp_path)
    site = tmp_path / "lib"
    files = _tree(site)
    monkeypatch.setattr(scan_mod, "PARALLEL_MIN_FILES", 2)
    analysed = [f for f in files if f[1] != "huggingface_hub_user.py"]
    only = [f for f in files if f[1] == "huggingface_hub_user.py"]
    question = scan_mod.FileQuestion((b"import", b"huggingface_hub"), lambda data: _lines_with(data) or None)
    got = analyze_files(
        analysed, providers, deep_needles=(), workers=workers, question=question, asked_only=only
    )
    plain = analyze_files(analysed, providers, deep_needles=(), workers=workers)
    assert {rel: r.answer for rel, r in got.items() if r.answer is not None} == {
        "pkg/a.py": [1, 2],
        "pkg/ok.py": [1],
        "pkg/bad.py": [1, 2],
        "huggingface_hub_user.py": [2],
    }
    # the import analysis is that of the files alone; the file read for the question is not analysed
    assert {rel: r[:3] for rel, r in got.items() if rel != "huggingface_hub_user.py"} == {
        rel: r[:3] for rel, r in plain.items()
    }
    assert got["huggingface_hub_user.py"][:3] == (None, [], None)


def test_cli_selects_the_variants_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speedups, "PURE_PYTHON", False)
    monkeypatch.delenv("GATOR_PURE_PYTHON", raising=False)
    monkeypatch.delenv("GATOR_NO_PARALLEL", raising=False)
    assert (engine_workers() is None and speedups.native() is not None) or not _built()
    monkeypatch.setenv("GATOR_PURE_PYTHON", "1")
    monkeypatch.setenv("GATOR_NO_PARALLEL", "1")
    assert engine_workers() == 1
    assert speedups.PURE_PYTHON and speedups.native() is None


def _built() -> bool:
    return any(ENGINE.glob("_speedups*.so")) or sys.platform == "win32"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_question_that_raises_costs_only_its_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    providers = fake_hub(tmp_path)
    files = _tree(tmp_path / "lib")
    monkeypatch.setattr(scan_mod, "PARALLEL_MIN_FILES", 2)

    def answer(data: bytes) -> list[int] | None:
        if b"nope" in data:
            raise ValueError("a bug in another probe")
        return _lines_with(data) or None

    question = scan_mod.FileQuestion((b"huggingface_hub",), answer)
    got = analyze_files(files, providers, deep_needles=(), workers=workers, question=question)
    plain = analyze_files(files, providers, deep_needles=(), workers=workers)
    assert got["pkg/bad.py"].answer == scan_mod.AnswerError("ValueError: a bug in another probe")
    assert got["pkg/ok.py"].answer == [1]
    assert {rel: r[:3] for rel, r in got.items()} == {rel: r[:3] for rel, r in plain.items()}


@pytest.mark.skipif(speedups.native() is None, reason="the C helpers were not built")
def test_import_triage_without_a_prefilter_pass_is_the_prefilter_triage(tmp_path: Path) -> None:
    """Without deep needles (the doctor) the C candidate pass alone triages each file; it decides
    as the pre-filter pass followed by the candidate pass does, on the installed packages and on
    files that do not decode, name only their own package, or name a module only in text."""
    import sysconfig

    from gator_setup.analysis.extract import top_package

    watched = ["huggingface_hub", "torch", "numpy", "diffusers", "transformers", "os", "typing", "pkg"]
    providers = Providers([Provider(m, m, "1.0", tmp_path) for m in watched])
    odd = {
        "pkg/latin.py": b"# caf\xe9\nimport pkg.sub\n",  # not UTF-8, names only its own package
        "pkg/latin_other.py": b"'''torch is mentioned, \xe9'''\nx = 1\n",  # not UTF-8, a name in text
        "pkg/latin_none.py": b"x = '\xe9'\n",  # not UTF-8, no watched name
        "pkg/coding.py": b"# -*- coding: latin-1 -*-\nimport torch\nx = '\xe9'\n",
        "pkg/own.py": b"from pkg import a\nimport pkg.b\n",
        "pkg/text.py": b"'''from torch import x'''\n# import numpy\n",
        "top.py": b"from numpy import array, nope\nimport os.path, typing as t\n",
    }
    files = [(data, rel) for rel, data in odd.items()]
    site = Path(sysconfig.get_paths()["purelib"])
    own = ENGINE.parents[1]
    tops = [(site, t) for t in ("huggingface_hub", "diffusers", "transformers", "numpy", "torch")]
    for root, top in [*tops, (own, "gator_setup")]:
        found = sorted((root / top).rglob("*.py"))
        files += [(p.read_bytes(), p.relative_to(root).as_posix()) for p in found]
    files += [(p.read_bytes(), p.name) for p in sorted(Path(re.__file__).parent.glob("*.py"))]
    both = []
    for imports_only in (True, False):
        analyzer = scan_mod._Analyzer(providers, watched, ())
        assert analyzer._imports_only  # (the C pass is chosen where it is built)
        analyzer._imports_only = imports_only
        both.append([analyzer.triage(data, rel) for data, rel in files])
    assert both[0] == both[1]
    decided = dict(zip((rel for _d, rel in files), both[0], strict=True))
    assert decided["pkg/latin.py"] == decided["pkg/latin_other.py"] == scan_mod.FULL
    assert decided["pkg/latin_none.py"] is None and decided["pkg/own.py"] is None
    assert decided["top.py"] == (("numpy", "array"), ("numpy", "nope"), ("os.path", None), ("typing", None))
    assert top_package("pkg/own.py") == "pkg" and len(files) > 100
