"""gator's PEP 503 name normalisation matches packaging's."""

from __future__ import annotations

from packaging.utils import canonicalize_name as reference

from gator_setup.names import canonicalize_name


def test_same_as_packaging() -> None:
    for name in (
        "Django",
        "oslo.concurrency",
        "huggingface_hub",
        "Foo__Bar..baz",
        "a-_.-b",
        "torch",
        "A.B-C_D",
    ):
        assert canonicalize_name(name) == reference(name), name
