"""probes/requirements.py: Requires-Dist parsed and marker-evaluated once per environment, cached,
and GTR100 answers the same from the cached facts as from parsing in the check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from factories import dist, interpreter, snapshot

from gator_setup.checks.requirements import DeclaredRequirements
from gator_setup.probes.requirements import (
    FACTS_KEY,
    Declared,
    Unparsable,
    evaluate,
    marker_environment,
    probe_requirements,
)

REQUIRES = (
    "numpy>=2",
    "Typing_Extensions >= 4.8 ; python_version < '3.12'",
    "pytest; extra == 'test'",
    "tomli; python_version < '3.11'",
    "pywin32; sys_platform == 'win32'",
    "bad requirement !!",
    "x; python_version >> '3'",
)


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_markers_are_evaluated_for_the_target_interpreter() -> None:
    on_310 = evaluate(REQUIRES, marker_environment(interpreter("3.10.12")))
    on_312_win = evaluate(REQUIRES, marker_environment(interpreter("3.12.1", platform="win32")))
    assert on_310 == [
        Declared("numpy>=2", "numpy>=2", "numpy", ">=2"),
        Declared(
            REQUIRES[1], 'Typing_Extensions>=4.8; python_version < "3.12"', "Typing_Extensions", ">=4.8"
        ),
        Declared("tomli; python_version < '3.11'", 'tomli; python_version < "3.11"', "tomli", ""),
        Unparsable("bad requirement !!"),
        Unparsable("x; python_version >> '3'"),
    ]
    assert [i.raw for i in on_312_win] == ["numpy>=2", "pywin32; sys_platform == 'win32'", *REQUIRES[5:]]


def test_cached_facts_equal_fresh_ones_and_follow_the_environment(_cache: Path) -> None:
    dists = {d.key: d for d in (dist("a", "1.0", *REQUIRES), dist("numpy", "2.1.0"))}
    interp = interpreter("3.10.12")
    fresh = probe_requirements(dists, interp)
    assert list(_cache.rglob("*.json"))
    assert probe_requirements(dists, interp) == fresh  # read back from the cache
    assert probe_requirements(dists, interp, use_cache=False) == fresh
    # another interpreter or another set of versions is another cache entry, not a stale answer
    assert probe_requirements(dists, interpreter("3.12.1"))["a"] != fresh["a"]
    upgraded = {**dists, "a": dist("a", "2.0", "numpy>=3")}
    assert probe_requirements(upgraded, interp)["a"][1] == [Declared("numpy>=3", "numpy>=3", "numpy", ">=3")]
    # a damaged cache file is ignored
    for f in _cache.rglob("*.json"):
        f.write_text("{not json", "utf-8")
    assert probe_requirements(dists, interp) == fresh


def test_gtr100_gives_the_same_findings_from_facts_and_from_requires() -> None:
    dists = (
        dist("a", "1.0", *REQUIRES),
        dist("numpy", "1.26.4"),
        dist("typing-extensions", "4.7.0"),
    )
    env = snapshot(*dists, interp=interpreter("3.10.12"))
    parsed_here = [f.to_json() for f in DeclaredRequirements().run(env)]
    env.extra[FACTS_KEY] = probe_requirements(env.distributions, env.interpreter)
    from_facts = [f.to_json() for f in DeclaredRequirements().run(env)]
    assert from_facts == parsed_here
    messages = [f["message"] for f in from_facts]
    assert "a 1.0 requires numpy>=2, but numpy 1.26.4 is installed" in messages
    assert "a 1.0 requires Typing_Extensions>=4.8, but typing-extensions 4.7.0 is installed" in messages
    assert any("requires tomli" in m and "not installed" in m for m in messages)
    assert sum("unparsable" in m for m in messages) == 2
    # facts of another release of `a` (a what-if replaced it) are not used for this one
    env.distributions["a"] = dist("a", "2.0", "numpy>=1")
    assert not any(f.message.startswith("a 2.0 requires numpy") for f in DeclaredRequirements().run(env))


def test_a_warm_doctor_does_not_import_the_requirement_parser(tmp_path: Path) -> None:
    # the point of the cache: the second run reads it and never imports packaging.markers
    code = (
        "import sys\nfrom gator_setup.cli.entry import main\n"
        f"main(['doctor', '--project', {str(tmp_path)!r}, '--only', 'GTR100,GTR110'])\n"
        "print('MARKERS' if 'packaging.markers' in sys.modules else 'NONE', file=sys.stderr)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True) for _ in range(2)]
    assert runs[0].stdout == runs[1].stdout
    assert runs[1].stderr.strip().endswith("NONE"), runs[1].stderr[-500:]
