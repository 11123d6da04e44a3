"""check-pins on installable environments (GTR304): resolve the files, analyse the resolved wheels."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gator_setup.core.pins_resolve import parse_compile

UV_OUT = """diffusers==0.27.2
    # via -r requirements.txt
huggingface-hub==2.5.0
    # via
    #   diffusers
    #   skops
numpy==2.0.2
    # via h5py
"""


def test_parse_compile_keeps_versions_and_who_requires_whom() -> None:
    res = parse_compile(UV_OUT, "default resolution", "uv pip compile requirements.txt")
    assert res.versions == {"diffusers": "0.27.2", "huggingface-hub": "2.5.0", "numpy": "2.0.2"}
    assert res.via["huggingface-hub"] == {"diffusers", "skops"}
    assert res.via["numpy"] == {"h5py"}
    assert "diffusers" not in res.via  # `-r requirements.txt` is the file, not a package


def _check_pins(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    from gator_setup.cli.app import main

    code = main(["check-pins", str(path), "--json"])
    return code, json.loads(capsys.readouterr().out)


def _imports(venv: Path, code: str) -> bool:
    py = str(venv / "bin" / "python")
    return subprocess.run([py, "-c", code], capture_output=True, timeout=300).returncode == 0


@pytest.mark.venv
@pytest.mark.slow
def test_package_outside_the_knowledge_base_is_judged_from_its_wheel(tmp_path: Path, capsys) -> None:
    """skops (not in the knowledge base) 0.6.0 imports InferenceApi, which hub >= 1.0 lacks."""
    from venv_factory import make_venv

    req = tmp_path / "requirements.txt"
    req.write_text("skops==0.6.0\n")
    code, rep = _check_pins(req, capsys)
    errors = [f for f in rep["findings"] if f["severity"] == "error"]
    assert code == 1 and len(errors) == 1
    f = errors[0]
    assert f["check"] == "GTR304" and "InferenceApi" in f["message"] and "default resolution" in f["message"]
    assert f["location"]["line"] == 1 and "skops.hub_utils" in f["evidence"]["reach"]
    assert f["evidence"]["fix_verified"].startswith("yes")
    fix_req = f["fix"].split('"')[1]
    # Truth in real venvs: the plain install breaks, the install with the verified fix imports.
    assert not _imports(make_venv("skops==0.6.0"), "from skops import hub_utils")
    assert _imports(make_venv("skops==0.6.0", fix_req), "from skops import hub_utils")


@pytest.mark.venv
@pytest.mark.slow
def test_numpy1_wheel_resolved_with_numpy2(tmp_path: Path, capsys) -> None:
    """h5py 3.10.0 admits numpy 2 in its metadata but was built on 1.x (see test_numpy_abi_venvs)."""
    req = tmp_path / "requirements.txt"
    req.write_text("h5py==3.10.0\nnumpy>=2\n")
    code, rep = _check_pins(req, capsys)
    errors = [f for f in rep["findings"] if f["severity"] == "error"]
    assert code == 1 and [f["check"] for f in errors] == ["GTR304"]
    assert "h5py 3.10.0" in errors[0]["message"] and "numpy 1.x" in errors[0]["message"]
    ok = tmp_path / "ok" / "requirements.txt"
    ok.parent.mkdir()
    ok.write_text("h5py==3.11.0\nnumpy>=2\n")
    code, rep = _check_pins(ok, capsys)
    assert code == 0, rep["findings"]


@pytest.mark.venv
@pytest.mark.slow
def test_pinned_consumer_fix_changes_the_line_and_installs(tmp_path: Path, capsys) -> None:
    """A pin that a rule knows: the verified fix edits the pinned line; the edited file installs
    and imports, and check-pins passes it."""
    from venv_factory import make_venv

    req = tmp_path / "requirements.txt"
    req.write_text("diffusers==0.27.2\nhuggingface_hub>=0.26\n")
    code, rep = _check_pins(req, capsys)
    (f,) = [f for f in rep["findings"] if f["severity"] == "error"]
    assert code == 1 and f["check"] == "GTR304" and f["evidence"]["fix_verified"].startswith("yes")
    assert f["fix"].startswith("change `diffusers==0.27.2` to `")
    new = f["fix"].split("` to `", 1)[1].split("`", 1)[0]
    req.write_text(f"{new}\nhuggingface_hub>=0.26\n")
    code, rep = _check_pins(req, capsys)
    assert code == 0, rep["findings"]
    assert _imports(make_venv(new, "huggingface_hub>=0.26"), "import diffusers")
