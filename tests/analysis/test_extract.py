"""The AST import extractor: names, relative imports, guards, scopes, calls and bad input."""

from __future__ import annotations

from gator_setup.analysis import analyze_source, extract_imports, module_name, needs_scan, speedups
from gator_setup.analysis.model import SourceProblem

SRC = b'''
"""from huggingface_hub import in_docstring"""
import os
import huggingface_hub.utils
from huggingface_hub import hf_hub_download, cached_download as cd
from . import sibling
from ..core import thing
# from huggingface_hub import in_comment
S = "from huggingface_hub import in_string"
try:
    from huggingface_hub import maybe
except ImportError:
    from huggingface_hub import fallback
if is_torch_available():
    from torch import nn
else:
    from torch import other
if TYPE_CHECKING:
    from huggingface_hub import only_types
try:
    if not is_x_available():
        raise OptionalDependencyNotAvailable()
except OptionalDependencyNotAvailable:
    pass
else:
    from transformers import optional_thing
class K:
    from huggingface_hub import in_class_body
def f():
    from huggingface_hub import in_function
    g = lambda: 1
if __name__ == "__main__":
    from huggingface_hub import main_only
'''


def refs():
    return {
        (r.module, r.name): r
        for r in extract_imports(SRC, "pkg/sub/mod.py", module="pkg.sub.mod", is_package=False)
    }


def test_names_relative_and_no_hits_in_comments_or_strings() -> None:
    r = refs()
    assert ("huggingface_hub.utils", None) in r
    assert ("huggingface_hub", "hf_hub_download") in r and ("huggingface_hub", "cached_download") in r
    assert ("pkg.sub", "sibling") in r and ("pkg.core", "thing") in r
    names = {n for _, n in r}
    assert not {"in_docstring", "in_comment", "in_string"} & names
    assert r[("huggingface_hub", "hf_hub_download")].line == 5
    assert r[("huggingface_hub", "hf_hub_download")].guard is None


def test_guards_and_scopes() -> None:
    r = refs()
    assert r[("huggingface_hub", "maybe")].guard == "try"
    assert r[("huggingface_hub", "fallback")].guard == "try"
    assert r[("torch", "nn")].guard == "if" and r[("torch", "other")].guard == "if"
    assert r[("huggingface_hub", "only_types")].guard == "type-checking"
    assert r[("transformers", "optional_thing")].guard == "if"
    assert r[("huggingface_hub", "main_only")].guard == "main"
    assert r[("huggingface_hub", "in_class_body")].scope == "module"
    assert r[("huggingface_hub", "in_function")].scope == "function"
    assert r[("huggingface_hub", "in_function")].guard is None


def test_package_relative_resolution_and_watched_filter() -> None:
    got = extract_imports(b"from .x import y\nimport os\n", "p/__init__.py", module="p", is_package=True)
    assert [(g.module, g.name) for g in got] == [("p.x", "y"), ("os", None)]
    only = extract_imports(SRC, "m.py", module="m", watched={"torch"})
    assert {r.top for r in only} == {"torch"}


def test_bad_input_is_a_problem_never_an_exception() -> None:
    problems: list[SourceProblem] = []
    assert extract_imports(b"def (:\n", "bad.py", problems=problems) == []
    assert extract_imports(b"\xff\xfe\x00 from x import y", "latin.py", problems=problems) == []
    assert extract_imports(b"x = (" * 200000, "deep.py", problems=problems) == []
    assert [p.path for p in problems] == ["bad.py", "latin.py", "deep.py"]
    assert problems[0].line == 1 and "syntax error" in problems[0].message
    assert "UTF-8" in problems[1].message
    # a declared coding is honoured, not reported
    latin = b"# -*- coding: latin-1 -*-\nfrom huggingface_hub import x  # \xe9\n"
    assert [r.name for r in extract_imports(latin, "ok.py")] == ["x"]


def test_provider_calls_keywords_and_commands() -> None:
    src = b"""
import subprocess, os
import huggingface_hub as hh
from huggingface_hub import hf_hub_download as dl, HfApi
def go():
    dl("a/b", "f", use_auth_token=True)
    hh.snapshot_download("a/b", resume_download=True)
    api = HfApi()
    api.upload_folder(folder_path=".", use_auth_token="x")
    subprocess.run(["huggingface-cli", "login"])
    os.system("huggingface-cli download a/b")
    other(use_auth_token=True)
"""
    fa = analyze_source(src, "p.py", watched={"huggingface_hub"})
    calls = {(c.kind, c.target, c.keywords) for c in fa.calls}
    assert ("call", "huggingface_hub.hf_hub_download", ("use_auth_token",)) in calls
    assert ("call", "huggingface_hub.snapshot_download", ("resume_download",)) in calls
    assert ("call", "huggingface_hub.HfApi.upload_folder", ("folder_path", "use_auth_token")) in calls
    assert sum(1 for c in fa.calls if c.kind == "command" and c.target == "huggingface-cli") == 2
    assert not any(c.target.endswith("other") for c in fa.calls)  # not a hub callable


def test_prefilter_and_module_names() -> None:
    assert needs_scan(b"import torch", [b"torch"]) and not needs_scan(b"import os", [b"torch"])
    assert module_name("a/b/c.py") == ("a.b.c", False)
    assert module_name("a/b/__init__.py") == ("a.b", True)
    assert module_name("a-b/c.py") is None


# SRC plus imports after `,`, `;` and `:` (the candidate pass must find them too)
MORE_IMPORTS = SRC + b"import os, torch.nn as tnn\nx = 1; from torch import e\nif y: import numpy.linalg\n"
CANDIDATE_WATCHED = {"huggingface_hub", "torch", "numpy", "transformers"}


def test_regex_candidates_cover_every_ast_import() -> None:
    from gator_setup.analysis.candidates import import_candidates

    src = (
        MORE_IMPORTS
        + b"from huggingface_hub import (\n    a,  # comment, with comma\n    b as bb,\n)\n"
        + b"from huggingface_hub import c, \\\n    d\n"
    )
    watched = CANDIDATE_WATCHED
    cands = {(r.module, r.name, r.line) for r in import_candidates(src, watched)}
    exact = {(r.module, r.name, r.line) for r in extract_imports(src, "m.py", module="m", watched=watched)}
    assert exact <= cands
    assert ("huggingface_hub", "b", exact and max(r[2] for r in exact if r[1] == "b")) in cands


def test_candidates_with_the_present_names_are_the_same() -> None:
    """Skipping `import` lines without a present watched name loses no candidate (the names may
    sit on the keyword's line, after `;` or `:`, or on a backslash-continued or CRLF line)."""
    from gator_setup.analysis.candidates import import_candidates

    src = (
        MORE_IMPORTS
        + b"import os, \\\n    torch\nimport sys, \\\r\n    numpy\r\nfrom torch import (\r\n  f,\r\n)\r\n"
        + b"from huggingface_hub import c, \\\n    d\nimport json  # torch is mentioned only here\n"
    )
    watched = CANDIDATE_WATCHED
    present = [w.encode() for w in watched if w.encode() in src]
    plain = import_candidates(src, watched)
    filtered = import_candidates(src, watched, present)
    assert filtered == plain
    assert {("torch", None), ("numpy", None), ("torch", "f")} <= {(r.module, r.name) for r in plain}
    # with no watched name present, nothing is tried at all
    assert import_candidates(b"import os\nimport torch_like_but_not\n", {"numpy"}, []) == []


def test_import_pairs_are_the_candidates_distinct_pairs(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The triage's pairs (no line numbers) are import_candidates' (module, name) pairs, first
    seen first, with the keyword found natively or by bytes.find alike."""
    from gator_setup.analysis import candidates
    from gator_setup.analysis.candidates import import_candidates, import_pairs
    from gator_setup.analysis.needles import native_available

    src = MORE_IMPORTS + b"import torch\nfrom torch import nn\nx = 'import'; import numpy as np, torch\n"
    watched = CANDIDATE_WATCHED
    present = [w.encode() for w in sorted(watched) if w.encode() in src]
    expected = tuple(dict.fromkeys((r.module, r.name) for r in import_candidates(src, watched)))
    assert ("torch", "nn") in expected and ("numpy", None) in expected
    modes = [True, False] if native_available() else [False]  # (native: with the `fast` extra)
    for native in modes:
        if not native:
            monkeypatch.setattr(speedups, "PURE_PYTHON", True)
        assert import_pairs(src, watched) == expected
        assert import_pairs(src, watched, present) == expected
        assert list(candidates._keyword_positions(src)) == [
            i for i in range(len(src)) if src.startswith(b"import", i)
        ]
