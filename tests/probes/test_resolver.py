"""The resolver's dry run: uv when present, else pip's `install --dry-run --report` (no uv needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gator_setup.probes import resolver
from gator_setup.probes.resolver import Change, parse_pip_report

REPORT = {
    "version": "1",
    "install": [
        {"metadata": {"name": "huggingface_hub", "version": "0.25.2"}},
        {"metadata": {"name": "tqdm", "version": "4.66.0"}},
        {"metadata": {"name": "Filelock", "version": "3.12.0"}},
    ],
}


def test_parse_pip_report_names_old_and_new_versions() -> None:
    installed = {"huggingface-hub": "0.26.0", "tqdm": "4.65.0", "filelock": "3.12.0"}
    assert parse_pip_report(json.dumps(REPORT), installed) == [
        Change("huggingface-hub", "0.26.0", "0.25.2"),
        Change("tqdm", "4.65.0", "4.66.0"),
    ]  # filelock: same version, no change


@pytest.mark.venv
@pytest.mark.slow
def test_what_if_without_uv_uses_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    """A plain `pip install gator-setup` has no uv: --what-if still resolves, through pip."""
    from venv_factory import make_venv

    from gator_setup.cli.app import main

    venv = make_venv("diffusers==0.27.2", "huggingface_hub==0.25.2")
    monkeypatch.setattr(resolver, "uv_command", lambda: None)
    py = str(venv / "bin" / "python")
    assert resolver.dry_run(py, ["huggingface_hub==0.26.0"]) == [
        Change("huggingface-hub", "0.25.2", "0.26.0")
    ]
    code = main(
        [
            "doctor",
            "--python",
            py,
            "--project",
            str(tmp_path),
            "--what-if",
            "huggingface_hub==0.26.0",
            "--json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1 and "cached_download" in out
