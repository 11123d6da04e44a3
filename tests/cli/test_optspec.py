"""Each option of doctor and scan is defined once (cli/optspec.py): the fast parser and the Typer
command bind every option, its default included, to the same value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gator_setup.cli import app, fastdoctor, fastscan
from gator_setup.cli.optspec import DOCTOR, SCAN, Opt

SAMPLES = {"fmt": "github", "project": "some/dir/", "only": "GTR101,GTR100", "skip": "GTR200"}


def _normal(values: dict[str, Any]) -> dict[str, Any]:
    """Typer's values as the fast parser gives them (Path and enum as text, no list as [])."""
    out = {}
    for k, v in values.items():
        if isinstance(v, Path):
            v = str(v)
        elif hasattr(v, "value"):
            v = v.value
        elif v is None and k in {o.key for o in (*DOCTOR, *SCAN) if o.kind == "list"}:
            v = []
        out[k] = v
    return out


def _typer_values(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, args: list[str]) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(module, name, lambda v: seen.append(dict(v)) or 0)
    assert app.main(args) == 0
    (values,) = seen
    return _normal(values)


def _cases(opts: tuple[Opt, ...]) -> list[list[str]]:
    """No option (the defaults), then each option alone in each of its spellings, twice for a
    repeatable one."""
    cases: list[list[str]] = [[]]
    for o in opts:
        if not o.fast:
            continue
        for flag in o.flags:
            if o.kind == "flag":
                cases.append([flag])
                continue
            value = SAMPLES.get(o.key, f"x-{o.key}")
            case = [flag, value] if not flag.startswith("--") else [f"{flag}={value}"]
            cases.append(case + case if o.kind == "list" else case)
    return cases


@pytest.mark.parametrize("args", _cases(DOCTOR), ids=lambda a: " ".join(a) or "defaults")
def test_doctor_options_bind_alike(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    fast = fastdoctor.parse_doctor_args(args)
    assert fast is not None
    if fast["project"] is not None:  # (None: not given, the nearest project is looked for)
        fast["project"] = str(Path(fast["project"]))  # (doctor_command reads it as a Path either way)
    typer_values = _typer_values(monkeypatch, fastdoctor, "doctor_command", ["doctor", *args])
    assert {k: typer_values[k] for k in fast} == fast
    assert set(typer_values) - set(fast) == {o.key for o in DOCTOR if not o.fast}


@pytest.mark.parametrize("args", _cases(SCAN), ids=lambda a: " ".join(a) or "defaults")
def test_scan_options_bind_alike(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    args = ["src/", *args, "more.py"]
    fast = fastscan.parse_scan_args(args)
    assert fast is not None
    assert _typer_values(monkeypatch, fastscan, "scan_command", ["scan", *args]) == fast
