"""Short sha256 hex digests for cache file names, without loading OpenSSL on the hot path.

`import hashlib` loads OpenSSL's libcrypto (a measurable part of a warm `gator scan`'s start-up,
docs/imports.md); names of
cache files need no more than the built-in sha256, which gives the same digest. The stdlib's
`random` does the same with `_sha512`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast


def _builtin_sha256() -> Callable[[bytes], Any]:
    import importlib

    for name in ("_sha256", "_sha2"):  # CPython <= 3.11, >= 3.12
        try:
            return cast(Callable[[bytes], Any], importlib.import_module(name).sha256)
        except (ImportError, AttributeError):
            continue
    from hashlib import sha256

    return sha256


_sha256 = _builtin_sha256()


def short_hash(text: str, length: int) -> str:
    """The first `length` hex digits of sha256(text)."""
    return str(_sha256(text.encode()).hexdigest()[:length])
