"""HTTP Range requests (RFC 9110 section 14): one strict parser for every file route, HEAD and GET alike.

Only a single `bytes` range is served: `first-last`, `first-` or `-suffix`, ASCII digits only (no
sign, no Unicode digits, no spaces). Anything else, several ranges, and ranges that select nothing
(`bytes=-0`, a start at or past the end, any range of an empty file) are answered 416 whatever the
file's size or the method, so HEAD and GET always agree.
"""

from __future__ import annotations

import re

from gator_setup.mirror.ids import HubError

_RANGE = re.compile(r"(?i:bytes)=([0-9]{0,19})-([0-9]{0,19})", re.ASCII)


def parse_range(value: str | None, size: int) -> tuple[int, int]:
    """(start, count) for a Range header value; the whole file for None; HubError 416 otherwise."""
    if value is None:
        return 0, size
    m = _RANGE.fullmatch(value.strip(" \t"))
    first, last = (m.group(1), m.group(2)) if m else ("", "")
    if m is None or (first == "" and last == ""):
        raise _unsatisfiable(value, size)
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(value, size)
        start = max(size - suffix, 0)
        return start, size - start
    start = int(first)
    stop = int(last) if last else size - 1
    if stop < start or start >= size:
        raise _unsatisfiable(value, size)
    return start, min(stop, size - 1) - start + 1


def _unsatisfiable(value: str, size: int) -> HubError:
    # The Content-Range of a 416 tells the client the real size.
    err = HubError(416, "RangeNotSatisfiable", f"Invalid range {value[:100]!r} for {size} bytes.")
    err.headers["Content-Range"] = f"bytes */{size}"
    return err
