"""Builders of fake snapshots for pure check tests."""

from __future__ import annotations

from typing import Any

from gator_setup.snapshot import Distribution, EnvSnapshot, Interpreter


def interpreter(version: str = "3.11.7", platform: str = "linux", machine: str = "x86_64") -> Interpreter:
    return Interpreter(
        executable="/venv/bin/python",
        version=version,
        implementation="CPython",
        platform=platform,
        machine=machine,
        sys_path=("/venv/lib/site-packages",),
        prefix="/venv",
        base_prefix="/usr",
    )


def dist(name: str, version: str, *requires: str) -> Distribution:
    return Distribution(name=name, version=version, requires=tuple(requires), path=f"/venv/{name}.dist-info")


def snapshot(*dists: Distribution, **kwargs: Any) -> EnvSnapshot:
    return EnvSnapshot(
        interpreter=kwargs.pop("interp", interpreter()), distributions={d.key: d for d in dists}, **kwargs
    )
