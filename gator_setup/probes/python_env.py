"""Probe a Python environment: interpreter facts, installed distributions, relevant env vars."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gator_setup.envfacts import Distribution, Interpreter, ProbeProblem
from gator_setup.errors import InterpreterError
from gator_setup.names import canonicalize_name
from gator_setup.probes.spawn import Spawned, SpawnTimeout

#: Prefixes of environment variables that change how the GPU stack and the Hub client behave.
ENV_PREFIXES = (
    "HF_",
    "HUGGINGFACE_",
    "HSA_",
    "HIP_",
    "ROCR_",
    "ROCM_",
    "CUDA_",
    "NVIDIA_",
    "PYTORCH_",
    "TORCH_",
    "MIOPEN_",
    "TRANSFORMERS_",
    "DIFFUSERS_",
    "GATOR_",
)
_SECRET = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|KEY|AUTH|CREDENTIAL", re.IGNORECASE)
REDACTED = "<redacted>"

# Asked of the target interpreter once; everything else is read from files. Neither json nor
# platform is imported there (but by Python 2): they were about half of the answer's time (json
# imports re; docs/imports.md, "Start-up and engine figures"). The answer is printed with
# ascii() (no encoding trouble whatever the locale; repr on Python 2) and read back with
# ast.literal_eval; _answer turns it into what platform.python_version(),
# python_implementation() and machine() would have said.
_INTERPRETER_SCRIPT = (
    "import os, sys;"
    "print((ascii if sys.version_info[0] > 2 else repr)({'executable': sys.executable,"
    "'version': sys.version, 'implementation': sys.implementation.name"
    " if hasattr(sys, 'implementation') else __import__('platform').python_implementation(),"
    "'platform': sys.platform,"
    "'machine': os.uname()[4] if hasattr(os, 'uname') else __import__('platform').machine(),"
    "'sys_path': sys.path, 'prefix': sys.prefix, 'base_prefix': getattr(sys, 'base_prefix', sys.prefix)}))"
)
#: sys.implementation.name -> platform.python_implementation()
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy", "ironpython": "IronPython", "jython": "Jython"}
INTERPRETER_TIMEOUT_S = 20.0


def relevant_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The env vars gator cares about, with secret values replaced by a marker."""
    environ = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for name in sorted(environ):
        if name.upper().startswith(ENV_PREFIXES):
            out[name] = REDACTED if _SECRET.search(name) else environ[name]
    return out


def current_interpreter() -> Interpreter:
    """Facts about the interpreter gator runs in."""
    import platform

    return Interpreter(
        executable=sys.executable,
        version=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=sys.platform,
        machine=platform.machine(),
        sys_path=tuple(p for p in sys.path if p),
        prefix=sys.prefix,
        base_prefix=getattr(sys, "base_prefix", sys.prefix),
    )


def resolve_python(path: str | os.PathLike[str]) -> Path:
    """Turn `--python` (an interpreter or a venv folder) into an interpreter path."""
    p = Path(path).expanduser()
    if p.is_dir():
        for candidate in (p / "bin" / "python", p / "bin" / "python3", p / "Scripts" / "python.exe"):
            if candidate.exists():
                return candidate
        raise InterpreterError(
            f"No Python interpreter found in {p} (looked for bin/python).",
            hint="Pass the interpreter itself, e.g. --python .venv/bin/python.",
        )
    if not p.exists():
        raise InterpreterError(
            f"Python interpreter {p} does not exist.",
            hint="Pass a venv folder or an interpreter path with --python.",
        )
    return p


#: Queries started ahead of need (start_query), by the --python value, collected by query_interpreter:
#: the running process, or the answer already known from the query cache
_started: dict[str, tuple[Path, Spawned | Interpreter]] = {}
#: Env vars that change what a venv's interpreter puts on sys.path (PYTHONPATH/HOME are removed)
_PATH_ENV = ("PYTHONNOUSERSITE", "PYTHONUSERBASE", "PYTHONPLATLIBDIR", "PYTHONSAFEPATH")


def _spawn(exe: Path) -> Spawned:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return Spawned([str(exe), "-c", _INTERPRETER_SCRIPT], env)


def _sig(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_ino, st.st_mtime_ns, st.st_size]


def _stamp(exe: Path, sys_path: Iterable[str]) -> list[Any] | None:
    """What the answer of a venv's interpreter depends on, or None when it is not a plain venv.

    The interpreter binary and pyvenv.cfg (a venv without system site-packages, so no user
    site either), the env vars that move sys.path, and each sys.path folder's mtime plus its
    .pth files (an install or uninstall changes the folder; an edited .pth file its own mtime).
    """
    cfg = exe.parent.parent / "pyvenv.cfg"
    try:
        text = cfg.read_text("utf-8", errors="replace")
    except OSError:
        return None
    flags = {
        key.strip().lower(): value.strip().lower()
        for key, eq, value in (line.partition("=") for line in text.splitlines())
        if eq
    }
    if flags.get("include-system-site-packages", "false") != "false":
        return None
    folders: list[Any] = []
    for entry in sys_path:
        try:
            with os.scandir(entry) as it:
                pth = sorted([e.name, e.stat().st_mtime_ns] for e in it if e.name.endswith(".pth"))
        except OSError:
            pth = None
        folders.append([entry, _sig(entry), pth])
    return [
        os.path.realpath(exe),
        _sig(os.path.realpath(exe)),
        text,
        [os.environ.get(k) for k in _PATH_ENV],
        folders,
    ]


def _cache_file(exe: Path, cache_dir: Path) -> Path:
    from gator_setup.shorthash import short_hash

    return cache_dir / f"{short_hash(os.path.abspath(exe), 24)}.json"


def _cached_answer(exe: Path, cache_dir: Path | None) -> Interpreter | None:
    """The interpreter's last answer, while nothing it depends on has changed (see _stamp)."""
    if cache_dir is None:
        return None
    try:
        data = json.loads(_cache_file(exe, cache_dir).read_text("utf-8"))
        interp = Interpreter(**{**data["interpreter"], "sys_path": tuple(data["interpreter"]["sys_path"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    stamp = _stamp(exe, interp.sys_path)
    return interp if stamp is not None and stamp == data.get("stamp") else None


def _save_answer(exe: Path, cache_dir: Path | None, interp: Interpreter) -> None:
    if cache_dir is None:
        return
    stamp = _stamp(exe, interp.sys_path)
    if stamp is None:
        return
    import dataclasses

    from gator_setup.cachedir import write_cache_json

    # (best effort: a read-only cache only costs speed)
    write_cache_json(_cache_file(exe, cache_dir), {"stamp": stamp, "interpreter": dataclasses.asdict(interp)})


def start_query(path: str | os.PathLike[str], cache_dir: Path | None = None) -> None:
    """Start asking `path` now, so its interpreter's start-up overlaps gator's own imports; with
    `cache_dir`, a still-valid earlier answer (see _stamp) makes the process unnecessary.

    Any failure is left for query_interpreter to report (it starts the process again).
    """
    try:
        exe = resolve_python(path)
        known = _cached_answer(exe, cache_dir)
        _started[os.fspath(path)] = (exe, known if known is not None else _spawn(exe))
    except (InterpreterError, OSError):
        pass


def answer_ready(path: str | os.PathLike[str]) -> bool:
    """True when query_interpreter(path) would not wait: the query started by start_query has
    printed its answer (or ended), or came from the cache. False when none was started."""
    pending = _started.get(os.fspath(path))
    if pending is None:
        return False
    return isinstance(pending[1], Interpreter) or pending[1].ready()


def query_interpreter(path: str | os.PathLike[str], cache_dir: Path | None = None) -> Interpreter:
    """Ask another interpreter for its facts (one subprocess; gator need not be installed there).

    `cache_dir`: reuse the last answer of a venv's interpreter while its binary, pyvenv.cfg,
    sys.path folders and .pth files are unchanged (`gator scan`; the doctor always asks).
    """
    pending = _started.pop(os.fspath(path), None)
    exe = pending[0] if pending is not None else resolve_python(path)
    if pending is not None and isinstance(pending[1], Interpreter):
        return pending[1]
    if pending is None:
        known = _cached_answer(exe, cache_dir)
        if known is not None:
            return known
    try:
        proc = pending[1] if pending is not None else _spawn(exe)
    except OSError as exc:
        raise InterpreterError(f"Cannot run {exe}: {exc.strerror or exc}.") from None
    assert isinstance(proc, Spawned)
    try:
        stdout, stderr = proc.communicate(timeout=INTERPRETER_TIMEOUT_S)
    except SpawnTimeout:
        proc.kill()
        raise InterpreterError(f"{exe} did not answer within {INTERPRETER_TIMEOUT_S:.0f} s.") from None
    if proc.returncode != 0:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        raise InterpreterError(f"{exe} failed to start (exit {proc.returncode}): {last}")
    try:
        interp = _answer(stdout.strip().splitlines()[-1])
    except (ValueError, SyntaxError, KeyError, IndexError, TypeError, AttributeError):
        raise InterpreterError(f"{exe} is not a Python interpreter gator understands.") from None
    _save_answer(exe, cache_dir, interp)
    return interp


def _answer(line: str) -> Interpreter:
    """The interpreter's facts from the line _INTERPRETER_SCRIPT printed."""
    import ast

    data = ast.literal_eval(line)
    # platform.python_version(): the version word of sys.version, with a patch level of 0 added
    # when it has none
    version = str(data["version"]).split()[0]
    if version.count(".") == 1:
        version += ".0"
    implementation = str(data["implementation"])
    return Interpreter(
        executable=str(data["executable"]),
        version=version,
        implementation=_IMPLEMENTATIONS.get(implementation, implementation),
        platform=str(data["platform"]),
        machine=str(data["machine"]),
        sys_path=tuple(str(p) for p in data["sys_path"] if p),
        prefix=str(data["prefix"]),
        base_prefix=str(data["base_prefix"]),
    )


def _metadata_fields(path: Path) -> tuple[str | None, str | None, tuple[str, ...]]:
    """Name, Version and Requires-Dist of a METADATA/PKG-INFO file (RFC 822 headers only).

    A direct reader: importlib_metadata's email-parser path cost more than the rest of the
    environment probe together. Undecodable bytes raise UnicodeDecodeError, as before.
    """
    text = path.read_bytes().decode("utf-8")
    # Only the headers are read: they end at the first blank line, at or before the first
    # "\n\n" (the long description after it can be a hundred kB, not worth splitting into lines).
    end = text.find("\n\n")
    return header_fields((text if end < 0 else text[:end]).splitlines())


def header_fields(lines: Iterable[str]) -> tuple[str | None, str | None, tuple[str, ...]]:
    """Name, Version and Requires-Dist from a metadata file's lines, up to the first blank one."""
    name = version = None
    requires: list[str] = []
    last: str | None = None
    for line in lines:
        if not line.strip():
            break  # the body (long description) starts here
        if line[0] in " \t":
            if last == "Requires-Dist" and requires:
                requires[-1] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"malformed header line {line[:40]!r}")
        last = key.strip()
        value = value.strip()
        low = last.lower()
        if low == "name" and name is None:
            name = value
        elif low == "version" and version is None:
            version = value
        elif low == "requires-dist":
            requires.append(value)
    return name, version, tuple(requires)


def _egg_info_distribution(entry: str, where: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """Old-style .egg-info: requirements live in requires.txt; importlib_metadata reads them."""
    import importlib_metadata

    d = importlib_metadata.PathDistribution(Path(where))
    meta = d.metadata
    return (meta["Name"] if meta else None), (meta["Version"] if meta else None), tuple(d.requires or ())


def read_distributions(sys_path: Iterable[str]) -> tuple[dict[str, Distribution], list[ProbeProblem]]:
    """Read every distribution's metadata on `sys_path`; the first one on the path wins, as for import."""
    dists: dict[str, Distribution] = {}
    problems: list[ProbeProblem] = []
    for entry in sys_path:
        if not entry or not os.path.isdir(entry):
            continue
        try:
            # os.listdir order, as importlib_metadata (which decides ties between two dist-infos)
            names = os.listdir(entry)
        except OSError as exc:  # a broken path entry must not sink the probe
            problems.append(ProbeProblem("environment", entry, f"cannot list distributions: {exc}"))
            continue
        for fname in names:
            low = fname.lower()
            if not low.endswith((".dist-info", ".egg-info")):
                continue
            where = os.path.join(entry, fname)
            try:
                if low.endswith(".dist-info"):
                    name, version, requires = _metadata_fields(Path(where) / "METADATA")
                else:
                    name, version, requires = _egg_info_distribution(entry, where)
                if not name or not version:
                    problems.append(ProbeProblem("environment", where, "metadata has no Name or Version"))
                    continue
            except FileNotFoundError:
                problems.append(ProbeProblem("environment", where, "unreadable metadata: no METADATA file"))
                continue
            except Exception as exc:  # malformed METADATA, undecodable bytes, vanished files
                problems.append(ProbeProblem("environment", where, f"unreadable metadata: {exc}"))
                continue
            key = canonicalize_name(name)
            if key in dists:
                if dists[key].version != version:
                    problems.append(
                        ProbeProblem(
                            "environment",
                            where,
                            f"{name} {version} is shadowed by {dists[key].version} earlier on sys.path",
                        )
                    )
                continue
            dists[key] = Distribution(name=name, version=version, requires=requires, path=where)
    return dists, problems
