"""Reachability against live imports in real venvs: an unreachable broken module is no error."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from venv_factory import make_venv

from gator_setup.cli.app import main

pytestmark = [pytest.mark.venv, pytest.mark.slow]


def _run(venv: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=300
    )


def test_transformers_conversion_scripts_are_not_an_error(tmp_path: Path, capsys) -> None:
    # The false-alarm trap: transformers 4.36.2 works with hub 0.26.0, but nine conversion scripts
    # (models/cvt/convert_...py) import cached_download, which hub 0.26.0 removed.
    venv = make_venv("transformers==4.36.2", "huggingface_hub==0.26.0")
    live = _run(venv, "from transformers import AutoConfig, pipeline; print('ok')")
    assert live.returncode == 0, live.stderr[-500:]
    script = "transformers.models.cvt.convert_cvt_original_pytorch_checkpoint_to_pytorch"
    # The script's import (line 25) really fails in this venv; it is only never reached.
    direct = _run(venv, "from huggingface_hub import cached_download")
    assert "cannot import name 'cached_download'" in direct.stderr
    code = main(["doctor", "--python", str(venv), "--project", str(tmp_path), "--only", "GTR101", "--json"])
    report = json.loads(capsys.readouterr().out)
    findings = report["findings"]
    assert code == 0
    assert not [f for f in findings if f["severity"] == "error"]
    warned = [f for f in findings if f["severity"] == "warning"]
    assert len(warned) == 1 and script in warned[0]["evidence"]["modules"]
    assert "nothing users import reaches" in warned[0]["evidence"]["reach"]


def test_project_import_makes_the_broken_script_reachable(tmp_path: Path, capsys) -> None:
    venv = make_venv("transformers==4.36.2", "huggingface_hub==0.26.0")
    (tmp_path / "app.py").write_text(
        "from transformers.models.cvt.convert_cvt_original_pytorch_checkpoint_to_pytorch"
        " import convert_cvt_checkpoint\n"
    )
    code = main(["doctor", "--python", str(venv), "--project", str(tmp_path), "--only", "GTR101", "--json"])
    report = json.loads(capsys.readouterr().out)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert code == 1
    assert any("the project imports it" in f["evidence"].get("reach", "") for f in errors)
