"""HTTP Range requests: one parser for every file route, HEAD and GET alike."""

from __future__ import annotations

from gator_setup.mirror.ids import HubError


def parse_range(value: str | None, size: int) -> tuple[int, int]:
    """(start, count) of a single `bytes=` range; HubError 416 for anything unsatisfiable or malformed."""
    if not value:
        return 0, size
    unit, _, spec = value.partition("=")
    first, dash, last = spec.strip().partition("-")
    try:
        if unit.strip() != "bytes" or not dash or "," in spec:
            raise ValueError
        if first == "":
            n = int(last)
            if n <= 0:
                raise ValueError
            start = max(size - n, 0)
            stop = size - 1
        else:
            start = int(first)
            stop = int(last) if last else size - 1
            if stop < start:
                raise ValueError
        if start >= size:
            raise ValueError
    except ValueError:
        raise HubError(
            416, "RangeNotSatisfiable", f"Invalid range {value[:100]!r} for {size} bytes."
        ) from None
    return start, min(stop, size - 1) - start + 1
