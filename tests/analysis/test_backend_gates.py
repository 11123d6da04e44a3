"""Backend gates: minimum versions read from availability functions, checked against live behaviour."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from factories import snapshot

from gator_setup.analysis.backend_gates import Gate, gates_in_source
from gator_setup.checks.backend_gates import BackendGates
from gator_setup.checks.base import Severity
from gator_setup.probes.backend_gates import FACTS_KEY, probe_backend_gates
from gator_setup.probes.python_env import read_distributions

IMPORT_UTILS = b"""
from packaging import version

def is_torch_available() -> bool:
    is_available, torch_version = _is_package_available("torch", return_version=True)
    if is_available and version.parse(torch_version) < version.parse("2.6.0"):
        logger.warning("Disabling PyTorch")
    return is_available and version.parse(torch_version) >= version.parse("2.6.0")

def is_sudachi_projection_available():
    ok, sudachipy_version = _is_package_available("sudachipy", return_version=True)
    return ok and version.parse(sudachipy_version) >= version.parse("0.6.8")

def is_torch_greater_or_equal(library_version: str):
    return version.parse(get_torch_version()) >= version.parse(library_version)

def is_numpy_available():
    return _is_package_available("numpy")
"""


def test_gates_are_read_from_availability_functions() -> None:
    got = gates_in_source(IMPORT_UTILS)
    assert got == [
        Gate("torch", "2.6.0", 8, "torch"),
        Gate("sudachipy", "0.6.8", 12, "sudachi_projection"),
    ]  # a function with arguments or without a literal minimum is no gate


ODD_BLOCKS = [
    # CRLF line ends, a byte that is not UTF-8 in the function, tab indents, a `->` annotation only
    b"def is_a_available() -> bool:\r\n    return version.parse(x) >= version.parse('1.2')  # \xff\r\n",
    b"class C:\n\tdef is_b_available():\n\t\treturn version.parse(x) > version.parse('3')\n",
    b"def is_c_available() -> bool:\n    return True\n\n"
    b"def is_d_available():\n    return the_version >= '2.0'\n",
    # a string that runs back to column 0: the block does not parse, the whole module is read
    b'def is_e_available():\n    s = """\nx\n"""\n    return version.parse(y) >= version.parse("4.1")\n',
    # `def is_` that is no availability function, and one whose def is not at a line's start
    b"def is_tensor(x):\n    return x > 1\nx = 1; def_is_f_available = 2\n",
    b"def is_g_available(\n    ):\n    return (\n        version.parse(y) >= version.parse('0.9')\n    )\n",
    "def is_h_available():\n    # d\u00e9j\u00e0 vu\n    return torch_version >= '2.1'\n".encode(),
]


@pytest.mark.parametrize("source", ODD_BLOCKS)
def test_blocks_read_as_the_whole_module_reads_them(source: bytes) -> None:
    """The block reading (found from the `def is_` occurrences, each line decoded alone, only the
    blocks holding a `>` walked) finds what a walk of the whole module finds."""
    import ast

    from gator_setup.analysis.backend_gates import _gates_in_tree

    assert gates_in_source(source) == _gates_in_tree(ast.parse(source), 0)


def _dist(site: Path, name: str, version: str, files: dict[str, bytes], requires: str = "") -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    req = f"Requires-Dist: {requires}\n" if requires else ""
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{req}")
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
    (info / "RECORD").write_text("".join(f"{r},,\n" for r in files))


def test_torch_below_the_gate_is_an_error_an_optional_backend_a_warning(tmp_path: Path) -> None:
    site = tmp_path / "site"
    users = {f"lib/models/m{i}.py": b"if is_torch_available():\n    import torch\n" for i in range(25)}
    _dist(
        site,
        "lib",
        "5.0",
        {"lib/__init__.py": b"", "lib/utils/import_utils.py": IMPORT_UTILS, **users},
        requires="huggingface-hub>=1.0",
    )
    _dist(site, "huggingface_hub", "1.0.0", {"huggingface_hub/__init__.py": b""})
    _dist(site, "torch", "2.1.0", {"torch/__init__.py": b""})
    _dist(site, "SudachiPy", "0.6.7", {"sudachipy/__init__.py": b""})
    dists, _ = read_distributions([str(site)])
    env = snapshot()
    env.extra[FACTS_KEY] = probe_backend_gates(dists)
    found = {f.packages[1]: f for f in BackendGates().run(env)}
    assert found["torch"].severity is Severity.ERROR
    assert "lib 5.0 switches torch off: it requires torch >= 2.6.0" in found["torch"].message
    assert found["torch"].fix is not None and 'pip install "torch>=2.6.0"' in found["torch"].fix
    assert found["SudachiPy"].severity is Severity.WARNING


@pytest.mark.venv
@pytest.mark.slow
@pytest.mark.parametrize(("sudachipy", "gated"), [("0.6.7", True), ("0.6.8", False)])
def test_transformers_gate_agrees_with_its_live_check(
    sudachipy: str, gated: bool, tmp_path: Path, capsys
) -> None:
    import json

    from venv_factory import make_venv

    from gator_setup.cli.app import main

    venv = make_venv("transformers==5.25.0", f"sudachipy=={sudachipy}")
    live = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from transformers.utils import import_utils as u; print(u.is_sudachi_projection_available())",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert live.stdout.strip() == str(not gated)
    main(["doctor", "--python", str(venv), "--project", str(tmp_path), "--only", "GTR104", "--json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert bool(findings) is gated
    if gated:
        assert "requires SudachiPy >= 0.6.8" in findings[0]["message"]


def test_parsing_only_the_availability_functions_finds_what_the_whole_module_does() -> None:
    """Every installed module with an availability function: the block parse equals a full parse."""
    import ast
    import re
    import sysconfig
    from pathlib import Path

    from gator_setup.analysis.backend_gates import _gates_in_tree

    availability = re.compile(rb"def is_([A-Za-z0-9_]+)_available\s*\(")

    site = Path(sysconfig.get_paths()["purelib"])
    compared = 0
    for path in site.rglob("*.py"):
        try:
            data = path.read_bytes()
            if not availability.search(data):
                continue
            whole = _gates_in_tree(ast.parse(data), 0)
        except (OSError, SyntaxError, ValueError):
            continue
        assert sorted(gates_in_source(data), key=repr) == sorted(whole, key=repr), path
        compared += 1
    assert compared > 0


@pytest.mark.parametrize("workers", [1, 2])
def test_gates_read_in_the_imports_pass_equal_a_pass_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """The doctor asks the gates of the imports probe's pass (one read per file): the library
    that depends on a watched provider has its imports analysed and its gates read together,
    torch (a provider that depends on none) is read for the gates alone; the facts are those of
    the gate probe's own pass, hits included, serial and forked."""
    import gator_setup.analysis.scan as scan_mod
    from gator_setup.probes.backend_gates import QUESTION, uncached
    from gator_setup.probes.imports import probe_imports

    monkeypatch.setattr(scan_mod, "PARALLEL_MIN_FILES", 2)
    site = tmp_path / "site"
    users = {f"lib/models/m{i}.py": b"if is_torch_available():\n    import torch\n" for i in range(25)}
    torch_gate = (
        b"def is_triton_available():\n    return version.parse(v('triton')) >= version.parse('3.1')\n"
    )
    _dist(
        site,
        "lib",
        "5.0",
        {
            "lib/__init__.py": b"from huggingface_hub import nope\n",
            "lib/utils/import_utils.py": IMPORT_UTILS,
            **users,
        },
        requires="huggingface-hub>=1.0",
    )
    _dist(site, "huggingface_hub", "1.0.0", {"huggingface_hub/__init__.py": b""})
    _dist(site, "torch", "2.1.0", {"torch/__init__.py": b"", "torch/utils/_triton.py": torch_gate})
    _dist(site, "triton", "3.0.0", {"triton/__init__.py": b""})
    _dist(site, "SudachiPy", "0.6.7", {"sudachipy/__init__.py": b""})
    dists, _ = read_distributions([str(site)])
    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path / "alone"))
    alone = probe_backend_gates(dists, workers=workers)
    assert {(h.dist, h.backend, h.minimum) for h in alone.hits} == {
        ("lib", "torch", "2.6.0"),
        ("lib", "SudachiPy", "0.6.8"),
        ("torch", "triton", "3.1"),
    }
    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path / "shared"))
    monkeypatch.setenv("GATOR_IMPORTS_CACHE", str(tmp_path / "imports"))
    todo = uncached(dists)
    assert {d.key for d in todo} == {"lib", "huggingface-hub", "torch"}
    facts = probe_imports([str(site)], dists, None, workers=workers, question=QUESTION, ask_of=todo)
    assert [(i.origin, i.name) for i in facts.issues] == [("lib", "nope")]  # imports analysed as well
    assert set(facts.answers) == {"lib", "huggingface-hub", "torch"}
    assert probe_backend_gates(dists, answers=facts.answers, workers=workers) == alone
