"""Profile files: parsed as data, valid pip constraints, bad files are one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gator_setup.errors import InputError, UnknownNameError
from gator_setup.knowledge.profiles import available_profiles, load_profile, parse_profile

REPO = Path(__file__).resolve().parents[2]


def test_shipped_profiles_load() -> None:
    assert set(available_profiles()) >= {"gator-rocm5.7", "cpu", "cuda12.1"}
    g = load_profile("gator-rocm5.7")
    assert (g.platform, g.gpu_archs, g.rocm, g.torch_index_url) == (
        "amd",
        ("gfx900",),
        "5.7",
        "https://download.pytorch.org/whl/rocm5.7",
    )
    assert g.torch_install_args() == [
        "install",
        "torch==2.2.0+rocm5.7",
        "--index-url",
        "https://download.pytorch.org/whl/rocm5.7",
    ]
    assert str(g.constraint("numpy")) == "numpy<2"
    assert load_profile("cpu").platform == "cpu" and load_profile("cuda12.1").cuda == "12.1"


def test_profile_files_are_plain_pip_constraints() -> None:
    """Every non-comment line must parse as a requirement pip accepts in a -c file (no options)."""
    from packaging.requirements import Requirement

    for path in (REPO / "constraints").glob("*.txt"):
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                req = Requirement(line)
                assert not req.extras and req.url is None, (path, line)


def test_gator_profile_records_its_reproduction() -> None:
    text = (REPO / "constraints" / "gator-rocm5.7.txt").read_text()
    assert (
        "scripts/verify-gator-rocm5.7.sh" in text and (REPO / "scripts" / "verify-gator-rocm5.7.sh").exists()
    )


def test_unknown_profile_lists_available() -> None:
    with pytest.raises(UnknownNameError) as exc:
        load_profile("nope")
    assert "Available: cpu, cuda12.1, gator-rocm5.7" in str(exc.value)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("# gator: platform = tpu\n", "platform must be one of"),
        ("# gator: colour = blue\n", "unknown profile key"),
        ("# gator: min_vram_gb = lots\n", "must be a number"),
        ("# gator: platform = cpu\ntorch>=>2 ;;\n", "not a pip constraint"),
    ],
)
def test_bad_profile_is_input_error_with_line(tmp_path: Path, body: str, problem: str) -> None:
    p = tmp_path / "bad.txt"
    p.write_text(body)
    with pytest.raises(InputError) as exc:
        parse_profile(p)
    assert problem in str(exc.value) and "bad.txt:" in str(exc.value)


def test_profile_dir_override(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "mine.txt").write_text("# gator: platform = cpu\ntorch==2.13.0+cpu\n")
    monkeypatch.setenv("GATOR_PROFILES_DIR", str(tmp_path))
    assert load_profile("mine").torch_pin() == "torch==2.13.0+cpu"


@pytest.mark.venv
def test_pip_accepts_gator_profile_as_constraints_file(tmp_path: Path) -> None:
    """Real pip (needs PyPI): `pip install -c constraints/gator-rocm5.7.txt ...` resolves inside the range."""
    import json
    import shutil
    import subprocess

    from packaging.utils import canonicalize_name

    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    venv = tmp_path / "v"
    subprocess.run([uv, "venv", "-q", "--seed", str(venv)], check=True)
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--dry-run",
            "--report",
            str(report),
            "-c",
            str(REPO / "constraints" / "gator-rocm5.7.txt"),
            "diffusers",
            "transformers",
            "huggingface_hub",
            "numpy",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0 and "Could not fetch" in proc.stderr + proc.stdout:
        pytest.skip("PyPI is not reachable")
    assert proc.returncode == 0, proc.stderr
    prof = load_profile("gator-rocm5.7")
    chosen = {
        canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"]
        for i in json.loads(report.read_text())["install"]
    }
    for name in ("diffusers", "transformers", "huggingface-hub", "numpy"):
        req = prof.constraint(name)
        assert req is not None and req.specifier.contains(chosen[name]), (name, chosen[name])


@pytest.mark.parametrize("name", sorted(available_profiles()))
def test_shipped_profiles_admit_no_known_bad_combination(name: str, tmp_path: Path) -> None:
    """A profile's own constraints must not allow a combination the knowledge base knows breaks
    (this caught diffusers 0.35.0/0.35.1 with torch 2.2.0 in the gator-rocm5.7 range)."""
    from gator_setup.core.check_pins import CheckPinsOptions, run_check_pins

    path = available_profiles()[name]
    report = run_check_pins(CheckPinsOptions(files=(str(path),), project_dir=str(tmp_path)))
    assert report.exit_code() == 0, [f.message for f in report.findings]
