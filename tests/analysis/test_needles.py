"""NeedleIndex: the native multi-needle search answers exactly what `in` answers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gator_setup.analysis import needles as needles_mod
from gator_setup.analysis import speedups
from gator_setup.analysis.needles import NeedleIndex, hide_offsets, native_available

needs_native = pytest.mark.skipif(not native_available(), reason="ahocorasick_rs (the fast extra) absent")

WATCHED = [b"huggingface_hub", b"huggingface-cli", b"torch", b"peft", b"transformers", b"safetensors"]


def test_hide_offsets_are_overlaps_running_past_the_match() -> None:
    assert hide_offsets(b"huggingface_hub", b"torch") == [4]
    assert hide_offsets(b"safetensors", b"transformers") == [11]
    assert hide_offsets(b"orc", b"torch") == []  # wholly inside: implied by the match, not hidden
    assert hide_offsets(b"numpy", b"torch") == []


@needs_native
@pytest.mark.parametrize(
    "text",
    [
        b"import torchuggingface_hub",  # huggingface_hub starts inside a torch match
        b"peftorch",
        b"x = 'peftransformersafetensors'",  # a chain: peft hides transformers hides safetensors
        b"torchuggingface-cli and torch",
        b"nothing here",
        b"",
    ],
)
def test_overlapping_needles_are_not_hidden(text: bytes) -> None:
    index = NeedleIndex(WATCHED, native=True)
    assert index.native
    assert index.present(text) == {n for n in WATCHED if n in text}
    has = index.presence(text)
    assert all(has(n) == (n in text) for n in [*WATCHED, b"absent needle", b"and"])


@needs_native
@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text("abc", min_size=1, max_size=4), min_size=1, max_size=6),
    st.text("abcx", max_size=60),
)
def test_native_matches_in_for_any_needles(needle_texts: list[str], haystack: str) -> None:
    # a three-letter alphabet makes needles overlap, nest and chain all the time
    needles = [t.encode() for t in needle_texts]
    data = haystack.encode()
    got = NeedleIndex(needles, native=True).present(data)
    assert got == {n for n in needles if n in data}


@needs_native
@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text("abc", min_size=1, max_size=4), min_size=1, max_size=6),
    st.lists(st.text("abcx", max_size=40), min_size=2, max_size=8),
)
def test_one_index_answers_many_files(needle_texts: list[str], haystacks: list[str]) -> None:
    # the index remembers what each set of pattern matches proves: files after the first reuse it
    needles = [t.encode() for t in needle_texts]
    index = NeedleIndex(needles, native=True)
    for data in (h.encode() for h in haystacks * 2):
        assert index.present(data) == {n for n in needles if n in data}


def test_pure_python_fallback_is_used_when_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speedups, "PURE_PYTHON", True)
    assert not native_available()
    index = NeedleIndex(WATCHED)
    assert not index.native
    assert index.present(b"import torch") == {b"torch"}
    with pytest.raises(RuntimeError, match="not available"):
        NeedleIndex(WATCHED, native=True)


def test_pure_python_fallback_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(needles_mod, "native_module", lambda: None)
    index = NeedleIndex(WATCHED)
    assert not index.native
    has = index.presence(b"from peft import x")
    assert has(b"peft") and not has(b"torch")
