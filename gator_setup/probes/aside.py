"""One probe's work done in a forked child while this process does another's.

The doctor's probes are independent reads of one environment. On an empty cache the imports
probe (the engine, with its own worker processes) and the binary-ABI and availability-gate
probes each cost a tenth of a second of CPU or more; run one after the other, the cores the
engine leaves idle between its phases stay idle. `Aside(fn)` starts `fn` in a forked child (the
engine's child mechanism, analysis/fanout.py) and `result()` collects its answer. Where forking
is not possible (not Linux, threads running, one worker asked for) or the child is lost, `fn`
runs in this process instead: the answer is the same either way. docs/imports.md has the figures.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Aside(Generic[T]):
    """`fn()`'s result, computed in a forked child from now on (or here, on `result()`)."""

    def __init__(self, fn: Callable[[], T], *, fork: bool = True) -> None:
        self._fn = fn
        self._fanout: Any = None
        if not (fork and sys.platform.startswith("linux") and threading.active_count() == 1):
            return
        from gator_setup.analysis.fanout import ChildLost, Fanout

        try:
            fanout = Fanout(1, lambda _task: fn())
        except OSError:
            return
        try:
            fanout.send(fanout.children[0], None)
        except ChildLost:
            fanout.close()
            return
        self._fanout = fanout

    def result(self) -> T:
        """The answer (waits for the child; runs `fn` here when there is none or it was lost)."""
        fanout, self._fanout = self._fanout, None
        if fanout is None:
            return self._fn()
        from gator_setup.analysis.fanout import ChildLost

        try:
            if fanout.children:
                reply: T = fanout.receive(fanout.children[0])
                return reply
        except ChildLost:
            pass
        finally:
            fanout.close()
        return self._fn()
