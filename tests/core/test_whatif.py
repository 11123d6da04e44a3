"""`gator doctor --what-if`: offline with a fake resolver and cached wheels, and end to end in a venv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from factories import interpreter
from wheelfactory import DIFFUSERS_NEW, DIFFUSERS_OLD, hub_files, install, wheel

from gator_setup.cli.app import main
from gator_setup.core.whatif import WhatIfOptions, run_what_if, wheel_cache_dir
from gator_setup.probes.python_env import read_distributions
from gator_setup.probes.resolver import Change, parse_dry_run
from gator_setup.snapshot import EnvSnapshot

UV_OUTPUT = """Using Python 3.11.7 environment at: v
Resolved 20 packages in 531ms
Would uninstall 2 packages
Would install 2 packages
 - diffusers==0.27.2
 + diffusers==0.29.0
 - huggingface-hub==0.25.2
 + huggingface-hub==0.26.0
 + truststore==0.10.5
"""


def test_parse_uv_dry_run() -> None:
    assert parse_dry_run(UV_OUTPUT) == [
        Change("diffusers", "0.27.2", "0.29.0"),
        Change("huggingface-hub", "0.25.2", "0.26.0"),
        Change("truststore", None, "0.10.5"),
    ]


@pytest.fixture
def env(tmp_path: Path) -> EnvSnapshot:
    site = tmp_path / "site-packages"
    install(site, "diffusers", "0.27.2", DIFFUSERS_OLD, "huggingface-hub>=0.20.2")
    install(site, "huggingface_hub", "0.25.2", hub_files("0.25.2"))
    cache = wheel_cache_dir()
    wheel(cache / "wheels", "huggingface_hub", "0.26.0", hub_files("0.26.0"))
    wheel(cache / "wheels", "huggingface_hub", "0.24.0", hub_files("0.24.0"))
    wheel(cache / "wheels", "diffusers", "0.29.0", DIFFUSERS_NEW, "huggingface-hub>=0.23.2")
    interp = interpreter()
    interp = type(interp)(**{**interp.__dict__, "sys_path": (str(site),)})
    dists, _ = read_distributions([str(site)])
    return EnvSnapshot(interpreter=interp, distributions=dists)


def fake_resolver(*moves: Change):  # type: ignore[no-untyped-def]
    calls: list[list[str]] = []

    def resolve(python: str, reqs: list[str]) -> list[Change]:
        calls.append(reqs)
        return list(moves)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def by_code(report) -> dict[str, list]:  # type: ignore[no-untyped-def, type-arg]
    return {r.code: r.findings for r in report.results}


def test_upgrading_hub_breaks_old_diffusers(env: EnvSnapshot) -> None:
    resolver = fake_resolver(Change("huggingface-hub", "0.25.2", "0.26.0"))
    report = run_what_if(
        WhatIfOptions(("huggingface_hub==0.26.0",), offline=True), resolver=resolver, snapshot=env
    )
    found = by_code(report)
    (imp,) = found["GTR111"]
    assert "cached_download" in imp.message and "diffusers 0.27.2" in imp.message
    assert "dynamic_modules_utils.py:28" in imp.message and imp.severity.label == "error"
    assert found.get("GTR110", []) == []  # one cause: the rule is grouped under the import
    (kb,) = [r for r in imp.related if r.code == "GTR110"]
    assert kb.fix is not None and "diffusers>=0.29.0" in kb.fix
    assert report.exit_code() == 1
    # Nothing in the environment changed.
    assert (Path(env.interpreter.sys_path[0]) / "huggingface_hub-0.25.2.dist-info").is_dir()


def test_adding_the_fixed_diffusers_clears_it(env: EnvSnapshot) -> None:
    resolver = fake_resolver(
        Change("diffusers", "0.27.2", "0.29.0"), Change("huggingface-hub", "0.25.2", "0.26.0")
    )
    opts = WhatIfOptions(("huggingface_hub==0.26.0", "diffusers==0.29.0"), offline=True)
    report = run_what_if(opts, resolver=resolver, snapshot=env)
    assert report.findings == [] and report.exit_code() == 0


def test_downgrade_is_a_warning(env: EnvSnapshot) -> None:
    resolver = fake_resolver(Change("huggingface-hub", "0.25.2", "0.24.0"))
    report = run_what_if(
        WhatIfOptions(("huggingface_hub<0.25",), offline=True), resolver=resolver, snapshot=env
    )
    (f,) = by_code(report)["GTR112"]
    assert "0.25.2 -> 0.24.0" in f.message and report.exit_code() == 0


def test_bad_requirement_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--what-if", "huggingface_hub=>1"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not a requirement" in err


@pytest.mark.venv
@pytest.mark.slow
def test_what_if_in_a_real_venv(tmp_path: Path) -> None:
    """diffusers 0.27.2 + hub 0.25.2: hub 0.26.0 would break diffusers; adding diffusers 0.29.0 clears it."""
    venv = tmp_path / "v"
    subprocess.run(["uv", "venv", "-q", str(venv), "--python", sys.executable], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(py), "diffusers==0.27.2", "huggingface_hub==0.25.2"],
        check=True,
    )
    gator = [sys.executable, "-m", "gator_setup", "doctor", "--python", str(py), "--json"]
    env = {**os.environ}
    r = subprocess.run(
        [*gator, "--what-if", "huggingface_hub==0.26.0"], capture_output=True, text=True, env=env
    )
    assert r.returncode == 1, r.stderr
    assert "cached_download" in r.stdout and "diffusers>=0.29.0" in r.stdout
    r2 = subprocess.run(
        [*gator, "--what-if", "huggingface_hub==0.26.0", "--what-if", "diffusers==0.29.0"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r2.returncode == 0, r2.stdout
    out = subprocess.run(
        [
            str(py),
            "-c",
            "import huggingface_hub, diffusers; print(huggingface_hub.__version__, diffusers.__version__)",
        ],
        capture_output=True,
        text=True,
    )
    assert out.stdout.split() == ["0.25.2", "0.27.2"]
