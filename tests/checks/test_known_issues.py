"""GTR110 against fake snapshots: verified bad combinations are reported with fix and reproduction."""

from __future__ import annotations

from factories import dist, snapshot

from gator_setup.checks.base import Severity
from gator_setup.checks.known_issues import KnownBadCombinations
from gator_setup.checks.registry import builtin_checks


def run(*dists):  # type: ignore[no-untyped-def]
    return list(KnownBadCombinations().run(snapshot(*dists)))


def test_old_gator_pins_are_flagged_with_error_fix_and_reproduction() -> None:
    (f,) = run(dist("diffusers", "0.25.0"), dist("huggingface_hub", "0.26.0"))
    assert f.code == "GTR110" and f.severity is Severity.ERROR
    assert "cached_download" in f.message and "diffusers 0.25.0" in f.message
    assert f.fix is not None and "diffusers>=0.29.0" in f.fix and "huggingface_hub<0.26" in f.fix
    assert "uv pip install" in f.evidence["reproduce_with"]
    assert "diffusers==0.28.2 huggingface_hub==0.26.0" in f.evidence["reproduction"]
    assert f.evidence["rule"] == "diffusers-hub-cached-download"


def test_fixed_and_unrelated_environments_pass() -> None:
    assert run(dist("diffusers", "0.29.0"), dist("huggingface_hub", "0.26.0")) == []
    assert run(dist("diffusers", "0.27.2"), dist("huggingface_hub", "0.25.2")) == []
    assert run(dist("huggingface_hub", "1.0.0")) == []
    assert run(dist("diffusers", "0.36.0"), dist("huggingface_hub", "1.2.0"), dist("torch", "2.13.0")) == []


def test_old_diffusers_with_hub1_reports_the_error_users_see_first() -> None:
    (f,) = run(dist("diffusers", "0.24.0"), dist("huggingface-hub", "1.0.0"))
    assert "hf_cache_home" in f.message


def test_torch_numpy2_and_local_version_labels() -> None:
    (f,) = run(dist("torch", "2.2.0+rocm5.7"), dist("numpy", "2.1.0"))
    assert "Numpy is not available" in f.message and f.fix is not None and "numpy<2" in f.fix
    assert run(dist("torch", "2.2.0+rocm5.7"), dist("numpy", "1.26.4")) == []
    assert run(dist("torch", "2.3.0+cpu"), dist("numpy", "2.1.0")) == []


def test_unparsable_version_is_ignored_not_crashing() -> None:
    assert run(dist("diffusers", "not-a-version"), dist("huggingface_hub", "0.26.0")) == []


def test_registered() -> None:
    assert KnownBadCombinations in builtin_checks()


def test_diffusers_035_with_old_torch() -> None:
    (f,) = run(dist("diffusers", "0.35.1"), dist("torch", "2.3.1"))
    assert "custom_op" in f.message
    assert run(dist("diffusers", "0.35.2"), dist("torch", "2.3.1")) == []
    assert run(dist("diffusers", "0.35.0"), dist("torch", "2.4.0")) == []
