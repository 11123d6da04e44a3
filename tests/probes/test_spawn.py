"""probes.spawn: output, exit code, timeout and failure to start, with posix_spawn and without."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from gator_setup.probes import spawn
from gator_setup.probes.spawn import Spawned, SpawnTimeout

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell commands")


@pytest.fixture(params=["posix_spawn", "subprocess"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "subprocess":
        monkeypatch.delattr(os, "posix_spawn", raising=False)
    return str(request.param)


def test_output_and_exit_code_are_collected(mode: str) -> None:
    # both streams well past a pipe's capacity: neither may block the other
    script = "head -c 300000 /dev/zero | tr '\\0' o; head -c 200000 /dev/zero | tr '\\0' e >&2; exit 3"
    proc = Spawned(["/bin/sh", "-c", script], dict(os.environ))
    out, err = proc.communicate(timeout=30)
    assert (len(out), set(out), len(err), set(err)) == (300000, {"o"}, 200000, {"e"})
    assert proc.returncode == 3


def test_stdin_is_empty_and_line_ends_are_newlines(mode: str) -> None:
    proc = Spawned(["/bin/sh", "-c", "cat; printf 'a\\r\\nb\\n'"], {"PATH": os.environ.get("PATH", "")})
    assert proc.communicate(timeout=30) == ("a\nb\n", "")
    assert proc.returncode == 0


def test_a_process_that_outlives_the_timeout_is_killed_and_reaped(mode: str) -> None:
    proc = Spawned(["/bin/sh", "-c", "sleep 30"], dict(os.environ))
    with pytest.raises(SpawnTimeout):
        proc.communicate(timeout=0.3)
    proc.kill()
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(proc.pid, os.WNOHANG)


def test_a_program_that_cannot_run_is_an_oserror(tmp_path: Path, mode: str) -> None:
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\n")
    fds_before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    with pytest.raises(OSError):
        Spawned([str(script)], dict(os.environ))
    if fds_before is not None:  # its pipes were closed again
        assert len(os.listdir("/proc/self/fd")) == fds_before


def test_the_fallback_is_taken_without_posix_spawn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "posix_spawn", raising=False)
    proc = spawn.Spawned(["/bin/sh", "-c", "echo hi"], dict(os.environ))
    assert proc._popen is not None
    assert proc.communicate(timeout=30) == ("hi\n", "")


def test_ready_once_the_process_has_written(mode: str) -> None:
    proc = Spawned(["/bin/sh", "-c", "read _ignored; sleep 0.5; echo done"], dict(os.environ))
    assert not proc.ready()  # still sleeping
    deadline = time.monotonic() + 30
    while not proc.ready():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert proc.communicate(timeout=30) == ("done\n", "")
