"""Verified fixes: candidates narrowest first, labels, and fixes applied as written in real venvs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from factories import snapshot

from gator_setup.core.fixsearch import FixOutcome, FixPlanEntry, _narrowed, _with_fix, candidates
from gator_setup.envfacts import Distribution
from gator_setup.findings import Finding, Severity
from gator_setup.probes.resolver import Change

CAUSE = "missing:huggingface-hub:huggingface_hub.cached_download"


def test_open_upgrade_is_narrowed_to_the_first_fixed_minor() -> None:
    assert _narrowed("diffusers>=0.29.0") == ["diffusers>=0.29.0,<0.30", "diffusers>=0.29.0"]
    assert _narrowed("numpy<2") == ["numpy<2"]


def test_candidates_for_a_removed_name() -> None:
    env = snapshot(Distribution("diffusers", "0.27.2"), Distribution("huggingface-hub", "0.26.0"))
    lead = Finding(
        "GTR101",
        Severity.ERROR,
        "`import diffusers` fails",
        fix='pip install "diffusers>=0.29.0"  (a newer release no longer imports it)',
        packages=("diffusers", "huggingface-hub"),
        evidence={"cause": CAUSE},
    )
    got = candidates(env, lead)
    assert got[:2] == ["diffusers>=0.29.0,<0.30", "diffusers>=0.29.0"]
    assert "huggingface-hub<0.26.0" in got  # the release that removed it (deprecations.toml)
    assert got[-1] == "diffusers>0.27.2"  # the open-ended upgrade comes last


def test_unverified_fix_is_labelled_and_says_why() -> None:
    f = Finding(
        "GTR103", Severity.ERROR, "x", fix='pip install "numpy<2"', evidence={"cause": "numpy-abi:h5py"}
    )
    bad = FixOutcome("numpy<2", False, "it would break: pandas requires numpy>=2")
    out = _with_fix(f, FixPlanEntry(f, bad, [bad]))
    assert out.fix == '(unverified) pip install "numpy<2"'
    assert "pandas requires numpy>=2" in out.evidence["fix_verified"]
    good = FixOutcome("numpy<2", True, "ok", (Change("numpy", "2.0.2", "1.26.4"),))
    out = _with_fix(f, FixPlanEntry(f, good, [good]))
    assert out.fix == 'pip install "numpy<2"' and "numpy 2.0.2 -> 1.26.4" in out.evidence["fix_verified"]


def test_an_unreachable_index_stops_the_search_after_one_resolve(tmp_path: Path, monkeypatch) -> None:
    """Air-gapped: one resolve that cannot reach the index; the other candidates are not tried."""
    from gator_setup.core.fixsearch import plan_fixes
    from gator_setup.findings import CheckResult
    from gator_setup.probes.resolver import ResolveError

    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path))
    env = snapshot(Distribution("diffusers", "0.27.2"), Distribution("huggingface-hub", "0.26.0"))
    lead = Finding(
        "GTR101",
        Severity.ERROR,
        "`import diffusers` fails",
        fix='pip install "diffusers>=0.29.0"',
        packages=("diffusers", "huggingface-hub"),
        evidence={"cause": CAUSE},
    )
    calls: list[list[str]] = []

    def unreachable(_python: str, reqs: list[str]) -> list[Change]:
        calls.append(reqs)
        raise ResolveError("cannot resolve: Failed to fetch: `https://pypi.org/simple/diffusers/` (dns)")

    results = [CheckResult("GTR101", "t", "imports", [lead])]
    (entry,) = plan_fixes(env, results, resolver=unreachable)
    assert len(calls) == 1 and len(entry.tried) == len(candidates(env, lead)) > 1
    assert not entry.verified and all("could not be reached" in t.reason for t in entry.tried)


def _copy(venv: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(venv, target, symlinks=True)
    return target


def _doctor(py: Path, project: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    from gator_setup.cli.app import main

    main(["doctor", "--python", str(py), "--project", str(project), "--json"])
    return json.loads(capsys.readouterr().out)


@pytest.mark.venv
@pytest.mark.slow
def test_verified_fix_applied_as_written_leaves_a_clean_env(tmp_path: Path, capsys) -> None:
    """The issue's venv: the verified fix, run by `gator fix --apply`, imports and doctors clean."""
    from venv_factory import make_venv

    from gator_setup.cli.app import main

    venv = _copy(make_venv("diffusers==0.27.2", "huggingface_hub==0.26.0", "transformers==4.40.0"), tmp_path)
    py = venv / "bin" / "python"
    project = tmp_path / "proj"
    project.mkdir()
    # `gator fix` runs the doctor (one error, one cause) and its fix search.
    code = main(["fix", "--python", str(py), "--json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0 and len(plan["steps"]) == 1 and plan["unverified"] == []
    (step,) = plan["steps"]
    assert step["pip_args"][0] == "install" and "cached_download" in step["reason"]
    assert main(["fix", "--python", str(py), "--apply"]) == 0
    capsys.readouterr()
    live = subprocess.run(
        [
            str(py),
            "-c",
            "import diffusers, transformers; from diffusers import DiffusionPipeline; print('ok')",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert live.returncode == 0, live.stderr[-600:]
    after = _doctor(py, project, capsys)
    assert [f for f in after["findings"] if f["severity"] == "error"] == []
