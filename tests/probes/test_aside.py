"""probes/aside.py: a function run in a forked child gives what it gives here, and a lost child
falls back to running it here."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gator_setup.probes.aside import Aside

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork: Linux only")


@linux_only
def test_result_comes_from_a_child() -> None:
    # in a fresh interpreter: this test process may run other tests' threads, and Aside does not
    # fork then
    code = (
        "import os\n"
        "from gator_setup.probes.aside import Aside\n"
        "pid, facts = Aside(lambda: (os.getpid(), {'facts': [1, 2, 3]})).result()\n"
        "print(pid != os.getpid(), facts)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "{'facts':", "[1,", "2,", "3]}"]  # computed in the child


def test_without_fork_runs_here() -> None:
    parent = os.getpid()
    side = Aside(lambda: os.getpid(), fork=False)
    assert side.result() == parent


@linux_only
def test_a_failing_child_falls_back_to_this_process() -> None:
    parent = os.getpid()
    calls: list[int] = []

    def fn() -> int:
        if os.getpid() != parent:
            raise RuntimeError("only the child fails")
        calls.append(1)
        return 42

    assert Aside(fn).result() == 42
    assert calls == [1]  # the parent computed it once, after the child's failure


@linux_only
def test_a_child_killed_mid_work_falls_back() -> None:
    parent = os.getpid()

    def fn() -> str:
        if os.getpid() != parent:
            os._exit(9)  # as if the OOM killer ended it
        return "here"

    assert Aside(fn).result() == "here"


def test_an_error_here_propagates() -> None:
    def fn() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        Aside(fn, fork=False).result()
    with pytest.raises(ValueError, match="bad input"):
        Aside(fn).result()  # the child's failure, then the same failure here
