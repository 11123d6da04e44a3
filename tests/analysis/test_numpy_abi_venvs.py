"""GTR103 against live imports: numpy-1.x-built wheels under numpy 2 fail, numpy-2 builds import."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from venv_factory import make_venv

from gator_setup.cli.app import main

pytestmark = [pytest.mark.venv, pytest.mark.slow]


@pytest.mark.parametrize(
    ("h5py", "broken"),
    [("3.10.0", True), ("3.11.0", False)],  # 3.10.0 admits numpy 2 in metadata but was built on 1.x
)
def test_h5py_under_numpy2(h5py: str, broken: bool, tmp_path: Path, capsys) -> None:
    venv = make_venv(f"h5py=={h5py}", "numpy==2.0.2")
    live = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import h5py"], capture_output=True, text=True, timeout=300
    )
    assert (live.returncode != 0) is broken
    if broken:
        assert "numpy.dtype size changed" in live.stderr
    code = main(["doctor", "--python", str(venv), "--project", str(tmp_path), "--only", "GTR103", "--json"])
    report = json.loads(capsys.readouterr().out)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert (code == 1) is broken and bool(errors) is broken
    if broken:
        assert errors[0]["message"].startswith("`import h5py.")
        assert "h5py 3.10.0 was built against numpy 1.x" in errors[0]["message"]
        assert "numpy 2.0.2 is installed" in errors[0]["message"]


def test_what_if_numpy2_names_the_numpy1_build(tmp_path: Path, capsys) -> None:
    """h5py 3.10.0 with numpy 1.x imports; --what-if numpy==2.0.2 says it would break (the live
    failure under numpy 2.0.2 is test_h5py_under_numpy2[3.10.0-True])."""
    venv = make_venv("h5py==3.10.0", "numpy<2")
    py = str(venv / "bin" / "python")
    assert subprocess.run([py, "-c", "import h5py"], capture_output=True, timeout=300).returncode == 0
    code = main(["doctor", "--python", py, "--project", str(tmp_path), "--what-if", "numpy==2.0.2", "--json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert any("h5py 3.10.0 would break" in f["message"] and "numpy 1.x" in f["message"] for f in findings)
