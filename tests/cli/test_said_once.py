"""Each message said once, on the oldest and newest Typer/Click the pins allow (real uv venvs).

gator runs from this checkout (PYTHONPATH) with only the CLI's own dependencies installed beside
the Typer/Click pair under test.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from venv_factory import REPO, make_venv

#: (typer, click): the low end of both pins, a middle pair, and the newest pair the pins admit.
PAIRS = [("0.15.4", "8.1.8"), ("0.19.2", "8.2.1"), ("0.25.1", "8.5.1")]
CLI_DEPS = (
    "rich>=13",
    "packaging>=23",
    "platformdirs>=3",
    "tomli-w>=1",
    "filelock>=3.12",
    "importlib-metadata>=6",
)
MISTAKES = [
    (["doctr"], "'doctor'"),
    (["mirror", "serv"], "'serve'"),
    (["models", "lst"], "'list'"),
    (["doctor", "--jsn"], "--json"),
    (["doctor", "--profile", "nope"], "cpu"),
]


@pytest.mark.venv
@pytest.mark.parametrize(("typer_version", "click_version"), PAIRS)
def test_messages_are_said_once(typer_version: str, click_version: str, tmp_path: Path) -> None:
    venv = make_venv(f"typer=={typer_version}", f"click=={click_version}", *CLI_DEPS)
    env = {k: v for k, v in os.environ.items() if k not in ("GATOR_DEBUG", "PYTHONPATH")}
    env["PYTHONPATH"] = str(REPO)
    env["GATOR_PURE_PYTHON"] = "1"
    for args, name in MISTAKES:
        proc = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "gator_setup", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
        err = proc.stderr
        assert proc.returncode == 2, (args, err)
        assert "Traceback" not in err, err
        assert err.count("Did you mean") <= 1 and err.count("Available") <= 1, (args, err)
        if typer_version == "0.25.1":  # Typer or Click suggests the right name there
            assert name in err, (args, err)
