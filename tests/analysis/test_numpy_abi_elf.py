"""The numpy-ABI search in an ELF binary's data sections gives what the whole-file search gives."""

from __future__ import annotations

import mmap
import site
import struct
import sys
from pathlib import Path

import pytest

from gator_setup.analysis.numpy_abi import (
    MAX_BINARY_BYTES,
    elf_data_sections,
    is_binary,
    numpy_build_of,
    numpy_build_of_bytes,
)


def _whole_file(path: Path) -> tuple[int | None, bool]:
    """The search over every byte of the file (what numpy_build_of did before sections)."""
    data = path.read_bytes()
    init = b"PyInit_" + path.name.split(".", 1)[0].encode() + b"\0"
    return numpy_build_of_bytes(data), init in data


def _installed_binaries() -> list[Path]:
    roots = {Path(p) for p in [*site.getsitepackages(), sys.prefix] if Path(p).is_dir()}
    found: set[Path] = set()
    for root in roots:
        for path in root.rglob("*"):
            if is_binary(path.name) and path.is_file() and path.stat().st_size <= MAX_BINARY_BYTES:
                found.add(path.resolve())
    return sorted(found)


def test_sections_answer_as_the_whole_file_on_every_installed_binary() -> None:
    binaries = _installed_binaries()
    if not binaries:
        pytest.skip("no binary files installed")
    elf = 0
    for path in binaries:
        with path.open("rb") as fh:
            head = fh.read(4)
        elf += head == b"\x7fELF"
        assert numpy_build_of(path) == _whole_file(path), path
    assert elf, "no ELF binary among the installed files"
    # the installed numpy (a test dependency) uses its own C API: at least one build is seen
    assert any(numpy_build_of(p)[0] is not None for p in binaries)


def test_sections_skip_code_and_unloaded_parts() -> None:
    # gator's own C helpers, when built, are an ELF extension module: its sections are searched,
    # and what is skipped (machine code, debug info) is a real share of the file.
    from gator_setup.analysis import speedups

    mod = speedups.native()
    if mod is None or not str(mod.__file__).endswith(".so"):
        pytest.skip("the C helpers are not built here")
    path = Path(str(mod.__file__))
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        ranges = elf_data_sections(mm)
        size = len(mm)
    assert ranges
    assert 0 < sum(end - start for start, end in ranges) < size
    assert numpy_build_of(path) == (None, True)  # exports PyInit__speedups, no numpy


def _elf64(sections: list[tuple[int, int, bytes]]) -> bytes:
    """A minimal little-endian ELF64 file: a header, the sections' bytes, then the section table.
    sections: (type, flags, contents)."""
    body = b""
    offsets = []
    for _kind, _flags, contents in sections:
        offsets.append(64 + len(body))
        body += contents
    shoff = 64 + len(body)
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x28, shoff)
    struct.pack_into("<HH", header, 0x3A, 64, len(sections))
    table = b"".join(
        struct.pack("<IIQQQQ", 0, kind, flags, 0, off, len(contents)).ljust(64, b"\0")
        for (kind, flags, contents), off in zip(sections, offsets, strict=True)
    )
    return bytes(header) + body + table


def test_only_loaded_non_code_sections(tmp_path: Path) -> None:
    np1 = b"\0numpy.core._multiarray_umath\0"
    code, rodata, debug = (1, 0x6, b"\x90" * 64 + np1), (1, 0x2, b"\0PyInit_m\0" + np1), (1, 0x0, np1)
    path = tmp_path / "m.cpython-311-x86_64-linux-gnu.so"
    path.write_bytes(_elf64([code, rodata, debug]))
    assert numpy_build_of(path) == (1, True)
    # the marker only in machine code or in an unloaded section is not a build marker
    path.write_bytes(_elf64([code, (1, 0x2, b"\0PyInit_m\0"), debug]))
    assert numpy_build_of(path) == (None, True)
    # a broken section table: the whole file is searched
    broken = bytearray(_elf64([code, rodata]))
    struct.pack_into("<Q", broken, 0x28, len(broken) + 4096)
    path.write_bytes(bytes(broken))
    assert elf_data_sections(bytes(broken)) is None
    assert numpy_build_of(path) == (1, True)
