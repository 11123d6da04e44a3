"""GTR100 sees what pip check sees: missing and out-of-range requirements, with markers honoured."""

from __future__ import annotations

from factories import dist, interpreter, snapshot

from gator_setup.checks.base import Severity
from gator_setup.checks.requirements import DeclaredRequirements


def run(*dists, **kw):
    return list(DeclaredRequirements().run(snapshot(*dists, **kw)))


def test_satisfied_environment_has_no_findings() -> None:
    assert (
        run(dist("diffusers", "0.29.0", "huggingface-hub>=0.23.2"), dist("huggingface_hub", "0.26.0")) == []
    )


def test_version_out_of_range_is_an_error_with_a_pin_fix() -> None:
    (f,) = run(dist("diffusers", "0.36.0", "huggingface-hub<2.0,>=0.34.0"), dist("huggingface-hub", "2.4.0"))
    assert f.severity is Severity.ERROR
    assert "huggingface-hub<2.0,>=0.34.0" in f.message and "2.4.0" in f.message
    assert f.fix == 'pip install "huggingface-hub<2.0,>=0.34.0"'


def test_missing_requirement_is_an_error() -> None:
    (f,) = run(dist("diffusers", "0.29.0", "safetensors>=0.3.1"))
    assert "not installed" in f.message


def test_markers_are_evaluated_for_the_target_interpreter() -> None:
    d = dist("pkg", "1.0", 'tomli>=1; python_version < "3.11"', 'extra-only; extra == "dev"')
    assert run(d, interp=interpreter("3.11.7")) == []
    (f,) = run(d, interp=interpreter("3.10.12"))
    assert "tomli" in f.message


def test_prerelease_versions_satisfy_matching_specifiers() -> None:
    assert run(dist("a", "1.0", "b>=1.0.0rc1"), dist("b", "1.0.0rc1")) == []


def test_unparsable_requirement_is_a_warning_not_a_crash() -> None:
    (f,) = run(dist("a", "1.0", "b >>>= 1"))
    assert f.severity is Severity.WARNING
