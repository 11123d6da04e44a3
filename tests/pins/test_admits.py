"""The intersection of declared ranges with a rule's range, including PEP 440 oddities."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet as S
from packaging.version import Version

from gator_setup.pins.admits import compatible, intersection_witness


@pytest.mark.parametrize(
    ("declared", "rule", "witness"),
    [
        (">=0.25.0", "<0.29.0", "0.25.0"),
        (">=0.20.0", ">=0.26.0", "0.26.0"),
        (">=0.29.0", "<0.29.0", None),
        ("==2.*", "<2.3.0", "2"),
        ("==2.2.0+rocm5.7", "<2.3.0", "2.2.0+rocm5.7"),
        ("==2.3.0+rocm5.7", "<2.3.0", None),
        (">=1.0.0rc1", ">=1.0.0", "1.0.0"),
        ("==1.0.0rc1", ">=0.26.0", "1.0.0rc1"),
        ("<1.0.0rc1", ">=1.0.0", None),
        (">0.28,<0.29", "<0.29.0", "0.28.1"),
        ("~=0.28.0", "<0.29.0", "0.28.0"),
        ("~=0.29.0", "<0.29.0", None),
        (">=0.35,!=0.35.0,!=0.35.1", ">=0.35.0,<0.35.2", None),
        ("<=0.35.1", ">=0.35.0,<0.35.2", "0.35.0"),
        ("<1", ">=2.0.0", None),
        ("===2.2.0", "<2.3", "2.2.0"),
    ],
)
def test_witness(declared: str, rule: str, witness: str | None) -> None:
    got = intersection_witness([S(declared)], S(rule))
    assert got == (Version(witness) if witness else None)
    if got is not None:
        assert S(declared).contains(got) and S(rule).contains(got, prereleases=True)


def test_unconstrained_package_admits_any_range() -> None:
    assert intersection_witness([], S("<0.29.0")) is not None
    assert intersection_witness([S("")], S(">=0.26.0")) is not None


def test_several_declarations_intersect() -> None:
    assert intersection_witness([S(">=0.25"), S(">=0.29")], S("<0.29.0")) is None
    assert compatible([S(">=2.4"), S("==2.2.0")]) is False
    assert compatible([S(">=2.1"), S("==2.2.0+rocm5.7")]) is True
