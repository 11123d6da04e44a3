"""`gator scan`: verdicts, exit codes, formats and one-line errors on bad input."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from gator_setup.cli.app import main

REPO = Path(__file__).resolve().parents[2]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def hub_at_least(v: str) -> bool:
    from importlib.metadata import version

    from packaging.version import Version

    return Version(version("huggingface_hub")) >= Version(v)


def test_scan_flags_removed_names_and_apis(tmp_path: Path, capsys) -> None:
    if not hub_at_least("1.0"):
        pytest.skip("needs huggingface_hub >= 1.0 installed")
    (tmp_path / "app.py").write_text(
        "from huggingface_hub import cached_download, hf_hub_download\n"
        "from huggingface_hub import not_a_hub_name\n"
        "hf_hub_download('a/b', 'c', use_auth_token=True)\n"
        "# from huggingface_hub import in_a_comment\n"
    )
    code, out, err = run(["scan", str(tmp_path), "--json"], capsys)
    assert code == 1 and err == ""
    data = json.loads(out)
    msgs = {(f["check"], f["severity"]): f["message"] for f in data["findings"]}
    assert "not_a_hub_name" in msgs[("GTR101", "error")]
    assert any("cached_download" in f["message"] for f in data["findings"] if f["check"] == "GTR102")
    assert any("use_auth_token" in f["message"] for f in data["findings"])
    assert not any("in_a_comment" in f["message"] for f in data["findings"])


def test_clean_tree_exits_0_and_github_format(tmp_path: Path, capsys) -> None:
    (tmp_path / "ok.py").write_text("from huggingface_hub import hf_hub_download\n")
    code, out, _ = run(["scan", str(tmp_path), "--format", "github"], capsys)
    assert code == 0 and "::error" not in out


def test_bad_inputs_are_findings_or_one_line_errors(tmp_path: Path, capsys) -> None:
    # a file whose imports all resolve is not parsed in a scan; one that needs judging is
    (tmp_path / "syntax.py").write_text("from huggingface_hub import not_a_hub_name\ndef (:\n")
    (tmp_path / "latin.py").write_bytes(b"import huggingface_hub # \xff\n")
    (tmp_path / "dangling.py").symlink_to(tmp_path / "missing.py")
    code, out, err = run(["scan", str(tmp_path), "--json"], capsys)
    assert "Traceback" not in out + err and code == 0
    warnings = [f["message"] for f in json.loads(out)["findings"] if f["severity"] == "warning"]
    assert len(warnings) == 3
    for args in (
        ["scan", str(tmp_path / "nope")],
        ["scan", str(tmp_path), "--hub-version", "not-a-version"],
    ):
        code, out, err = run(args, capsys)
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, args
    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"not a zip")
    code, _, err = run(["scan", str(bad)], capsys)
    assert code == 2 and "not a readable wheel" in err and err.count("\n") == 1


def test_scan_wheel(tmp_path: Path, capsys) -> None:
    whl = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("demo/__init__.py", "from huggingface_hub import definitely_not_exported_xyz\n")
    code, out, _ = run(["scan", str(whl), "--json"], capsys)
    assert code == 1
    f = next(f for f in json.loads(out)["findings"] if f["severity"] == "error")
    assert "definitely_not_exported_xyz" in f["message"]
    assert f["location"]["path"] == "demo-1.0-py3-none-any.whl!/demo/__init__.py"


def test_pre_commit_hook_is_shipped() -> None:
    text = (REPO / ".pre-commit-hooks.yaml").read_text()
    assert "id: gator-scan" in text and "entry: gator scan" in text and "types: [python]" in text
