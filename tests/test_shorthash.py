"""short_hash: the same digest as hashlib.sha256, so cache file names do not change."""

from __future__ import annotations

import hashlib

from gator_setup.shorthash import short_hash


def test_short_hash_is_a_sha256_prefix() -> None:
    for text in ("", "abc", "scan\x00/tmp/x\x00huggingface_hub=huggingface_hub:1.0.0", "é"):
        assert short_hash(text, 24) == hashlib.sha256(text.encode()).hexdigest()[:24]
