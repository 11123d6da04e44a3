"""The environment probe: other interpreters, broken metadata, secrets redacted."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gator_setup.errors import InterpreterError
from gator_setup.probes.python_env import query_interpreter, read_distributions, relevant_env


def make_dist(site: Path, name: str, version: str, extra: str = "") -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{extra}")


def test_reads_requirements_and_first_on_path_wins(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    make_dist(a, "diffusers", "0.25.0", "Requires-Dist: huggingface-hub>=0.19.4\n")
    make_dist(b, "diffusers", "0.29.0")
    dists, problems = read_distributions([str(a), str(b)])
    assert dists["diffusers"].version == "0.25.0"
    assert dists["diffusers"].requires == ("huggingface-hub>=0.19.4",)
    assert any("shadowed" in p.message for p in problems)


def test_broken_metadata_and_symlinks_become_problems(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_dist(site, "good", "1.0")
    bad = site / "bad-1.0.dist-info"
    bad.mkdir()
    (bad / "METADATA").write_bytes(b"\xff\xfe\x00garbage")
    (site / "dangling-2.0.dist-info").symlink_to(tmp_path / "nowhere")
    dists, _problems = read_distributions([str(site), str(tmp_path / "missing")])
    assert "good" in dists
    assert "bad" not in dists


def test_query_interpreter_on_a_venv_folder() -> None:
    interp = query_interpreter(Path(sys.executable).parent.parent)
    assert interp.version.startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    assert interp.sys_path


def test_the_answer_says_what_platform_would_have_said() -> None:
    """The query script imports neither json nor platform; its answer still carries
    platform.python_version(), python_implementation() and machine() exactly."""
    import platform

    interp = query_interpreter(sys.executable)
    assert (interp.version, interp.implementation, interp.machine) == (
        platform.python_version(),
        platform.python_implementation(),
        platform.machine(),
    )
    assert interp.sys_path == tuple(p for p in sys.path if p and "pytest" not in p) or interp.sys_path


@pytest.mark.parametrize(
    ("raw", "version"),
    [("3.11.7 (main, Jan  1 2024) [GCC]", "3.11.7"), ("3.13.0rc1 (x)", "3.13.0rc1"), ("3.9 (x)", "3.9.0")],
)
def test_versions_read_as_platform_reads_them(raw: str, version: str) -> None:
    from gator_setup.probes.python_env import _answer

    fields = {"executable": "/x/python", "version": raw, "implementation": "pypy", "platform": "linux"}
    fields |= {"machine": "aarch64", "sys_path": ["", "/x/lib"], "prefix": "/x", "base_prefix": "/y"}
    line = ascii(fields)
    interp = _answer(line)
    assert (interp.version, interp.implementation, interp.sys_path) == (version, "PyPy", ("/x/lib",))


@pytest.mark.parametrize("target", ["/nonexistent/python", "/etc"])
def test_missing_interpreter_is_a_clear_error(target: str) -> None:
    with pytest.raises(InterpreterError):
        query_interpreter(target)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("echo 'boom' >&2\nexit 3", "exit 3"),
        ("echo \"{'executable': oops\"", "not a Python interpreter gator understands"),
    ],
    ids=["fails", "answers-garbage"],
)
def test_broken_interpreter_is_a_clear_error(tmp_path: Path, script: str, message: str) -> None:
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    with pytest.raises(InterpreterError, match=message):
        query_interpreter(fake)


def test_a_query_started_early_gives_the_same_answer_and_the_same_errors(tmp_path: Path) -> None:
    from gator_setup.probes import python_env

    venv = Path(sys.executable).parent.parent
    python_env.start_query(venv)
    assert os.fspath(venv) in python_env._started
    assert query_interpreter(venv) == query_interpreter(venv)
    assert python_env._started == {}  # collected once
    python_env.start_query("/nonexistent/python")  # nothing to start; the error comes when asked
    with pytest.raises(InterpreterError, match="does not exist"):
        query_interpreter("/nonexistent/python")
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    python_env.start_query(fake)
    with pytest.raises(InterpreterError, match=r"exit 3\): boom"):
        query_interpreter(fake)


def test_a_venv_answer_is_cached_until_its_paths_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from gator_setup.probes import python_env

    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    cache = tmp_path / "interp"
    first = query_interpreter(venv, cache)
    spawned: list[Path] = []
    real = python_env._spawn
    monkeypatch.setattr(python_env, "_spawn", lambda exe: spawned.append(exe) or real(exe))
    assert query_interpreter(venv, cache) == first and spawned == []
    python_env.start_query(venv, cache)  # a valid answer: no process started
    assert query_interpreter(venv, cache) == first and spawned == []
    assert query_interpreter(venv) == first and len(spawned) == 1  # without a cache: always asked
    site = Path(next(p for p in first.sys_path if p.endswith("site-packages")))
    (tmp_path / "more").mkdir()
    (site / "extra.pth").write_text(str(tmp_path / "more") + "\n")  # sys.path grows
    again = query_interpreter(venv, cache)
    assert len(spawned) == 2 and str(tmp_path / "more") in again.sys_path
    assert query_interpreter(venv, cache) == again and len(spawned) == 2
    os.utime(site / "extra.pth", ns=(1, 5_000_000_000))  # an edited .pth file
    query_interpreter(venv, cache)
    assert len(spawned) == 3
    # a venv that also sees the system site-packages (and the user site) is always asked
    cfg = venv / "pyvenv.cfg"
    cfg.write_text(cfg.read_text().replace("site-packages = false", "site-packages = true"))
    query_interpreter(venv, cache)
    query_interpreter(venv, cache)
    assert len(spawned) == 5


def test_secrets_are_redacted() -> None:
    env = relevant_env(
        {"HF_TOKEN": "hf_abc", "HF_HOME": "/h", "HSA_OVERRIDE_GFX_VERSION": "9.0.0", "PATH": "/x"}
    )
    assert env == {"HF_HOME": "/h", "HF_TOKEN": "<redacted>", "HSA_OVERRIDE_GFX_VERSION": "9.0.0"}


METADATA_PIECES = ["Name: a", "Version: 1", "Requires-Dist: b", "name: c", "\n", "\r\n", "\r", " more", "\t"]
METADATA_PIECES += ["\n\n", " \n", "\x0c", "body text", "no colon", "\u2028"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(METADATA_PIECES), max_size=14))
def test_metadata_headers_end_where_a_reading_of_every_line_ends(pieces: list[str], tmp_path: Path) -> None:
    """The file is cut at its first blank line before it is split into lines: the headers read
    are those a reading of every line finds (header_fields stops at the first blank one)."""
    from gator_setup.probes.python_env import _metadata_fields, header_fields

    text = "".join(pieces)
    path = tmp_path / "METADATA"
    path.write_bytes(text.encode())
    try:
        want: object = header_fields(text.splitlines())
    except ValueError:
        with pytest.raises(ValueError):
            _metadata_fields(path)
        return
    assert _metadata_fields(path) == want


def test_answer_ready_tells_whether_the_started_query_has_answered(tmp_path: Path) -> None:
    from gator_setup.probes import python_env

    assert python_env.answer_ready(sys.executable) is False  # never started
    python_env.start_query(sys.executable)
    deadline = time.monotonic() + 30
    while not python_env.answer_ready(sys.executable):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert query_interpreter(sys.executable).version.startswith(f"{sys.version_info[0]}.")
    assert python_env.answer_ready(sys.executable) is False  # collected
