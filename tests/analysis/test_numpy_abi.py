"""numpy ABI of binary files: the marker strings numpy's headers compile in, on fake and real files."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import snapshot

from gator_setup.analysis.numpy_abi import (
    extension_module_name,
    is_binary,
    numpy_build_of,
    numpy_build_of_bytes,
)
from gator_setup.checks.base import NotApplicable, Severity
from gator_setup.checks.numpy_abi import NumpyAbiMatches
from gator_setup.probes.numpy_abi import FACTS_KEY, probe_numpy_abi
from gator_setup.probes.python_env import read_distributions

NP1 = b"\0numpy.core._multiarray_umath\0"
NP2 = b"\0numpy._core._multiarray_umath\0numpy.core._multiarray_umath\0"


def test_build_markers() -> None:
    assert numpy_build_of_bytes(b"xx" + NP2) == 2
    assert numpy_build_of_bytes(b"xx" + NP1) == 1
    assert numpy_build_of_bytes(b"numpy.core.multiarray._reconstruct") is None  # a pickle name only
    assert is_binary("a/b.cpython-311-x86_64-linux-gnu.so") and is_binary("lib/libx.so.1")
    assert not is_binary("a/b.py")
    assert (
        extension_module_name("pkg/sub/_m.cpython-311-x86_64-linux-gnu.so", {"pkg", "pkg.sub"})
        == "pkg.sub._m"
    )
    assert extension_module_name("pkg/lib/libfoo.so", {"pkg"}) is None  # not inside a package


def _dist(site: Path, name: str, version: str, files: dict[str, bytes]) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
    (info / "RECORD").write_text("".join(f"{r},,\n" for r in files) + f"{info.name}/RECORD,,\n")


def _site(tmp_path: Path, numpy: str) -> Path:
    site = tmp_path / "site"
    _dist(site, "numpy", numpy, {"numpy/__init__.py": b""})
    so = ".cpython-311-x86_64-linux-gnu.so"
    _dist(
        site,
        "oldbin",
        "1.0",
        {
            "oldbin/__init__.py": b"from ._core import thing\n",
            f"oldbin/_core{so}": b"ELF" + NP1 + b"PyInit__core\0",
            f"oldbin/_unused{so}": b"ELF" + NP1 + b"PyInit__unused\0",
        },
    )
    _dist(site, "newbin", "2.0", {"newbin/__init__.py": b"", f"newbin/_c{so}": b"ELF" + NP2 + b"PyInit__c\0"})
    _dist(site, "quiet", "1.0", {"quiet/__init__.py": b"", f"quiet/_c{so}": b"ELF\0PyInit__c\0"})
    _dist(
        site,
        "toolonly",
        "1.0",
        {"toolonly/__init__.py": b"", f"toolonly/_x{so}": b"ELF" + NP1 + b"PyInit__x\0"},
    )
    return site


def _findings(site: Path) -> list:
    dists, _ = read_distributions([str(site)])
    facts = probe_numpy_abi(dists, use_cache=False)
    env = snapshot()
    env.extra[FACTS_KEY] = facts
    return list(NumpyAbiMatches().run(env))


def test_numpy1_builds_under_numpy2_are_found_with_their_reach(tmp_path: Path) -> None:
    found = _findings(_site(tmp_path, "2.0.2"))
    by = {f.packages[0]: f for f in found}
    assert set(by) == {"oldbin", "toolonly"}
    assert by["oldbin"].severity is Severity.ERROR
    assert by["oldbin"].message.startswith(
        "`import oldbin._core` fails: oldbin 1.0 was built against numpy 1.x"
    )
    assert "numpy<2" in (by["oldbin"].fix or "") and "2 binary file(s)" in by["oldbin"].message
    # toolonly's extension is never imported by its package: a warning naming why.
    assert (
        by["toolonly"].severity is Severity.WARNING
        and "nothing users import reaches" in by["toolonly"].message
    )


def test_numpy1_installed_reports_nothing(tmp_path: Path) -> None:
    assert _findings(_site(tmp_path, "1.26.4")) == []


def test_no_numpy_is_not_applicable(tmp_path: Path) -> None:
    with pytest.raises(NotApplicable):
        list(NumpyAbiMatches().run(snapshot()))


def test_real_extension_file_is_mapped(tmp_path: Path) -> None:
    p = tmp_path / "m.so"
    p.write_bytes(b"\x7fELF" + NP1 + b"PyInit_m\0")
    assert numpy_build_of(p) == (1, True)
    (tmp_path / "empty.so").write_bytes(b"")
    assert numpy_build_of(tmp_path / "empty.so") == (None, False)
