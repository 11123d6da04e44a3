"""Which numpy C ABI a binary file was built against, read from the bytes the numpy headers put in it.

Every module that uses numpy's C API calls `import_array()`, which the numpy headers compile into the
module with the name of numpy's core extension as a string:
- numpy 2.x headers import `numpy._core._multiarray_umath` (and fall back to `numpy.core...` so
  the same build runs on numpy 1.x): a numpy-2 build works on both;
- numpy 1.x headers (>= 1.16) import only `numpy.core._multiarray_umath`: under numpy 2 the ABI
  version check fails ("numpy.core.multiarray failed to import", "_ARRAY_API not found") or
  Cython's type-size check does ("numpy.dtype size changed").
Verified on real wheels in real venvs (docs/knowledge.md, "numpy ABI"): opencv-python-headless
4.9.0.80, h5py 3.10.0, scikit-image 0.22.0 fail under numpy 2.0.2; 4.10.0.84 and 3.11.0 import.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path, PurePosixPath

NUMPY2_MARK = b"numpy._core._multiarray_umath"
NUMPY1_MARK = b"numpy.core._multiarray_umath"
_BINARY_SUFFIXES = (".so", ".pyd", ".dylib")
_TAIL = b"core._multiarray_umath"
_NUMPY2_HEAD = NUMPY2_MARK[: -len(_TAIL)]
_NUMPY1_HEAD = NUMPY1_MARK[: -len(_TAIL)]
#: Python bindings that call numpy's C API are small; the files above this are compute kernels
#: (libtorch_cpu.so: 434 MB, CUDA kernels: GBs) and reading them would cost the doctor seconds.
MAX_BINARY_BYTES = 256 * 1024 * 1024


def is_binary(rel_path: str) -> bool:
    """A shared object / extension module file (by its file type suffix, `.so.1` included)."""
    name = rel_path.rsplit("/", 1)[-1]  # (called on every RECORD row: no PurePosixPath)
    return name.endswith(_BINARY_SUFFIXES) or ".so." in name


def numpy_build_of_bytes(data: bytes | mmap.mmap, start: int = 0, end: int | None = None) -> int | None:
    """2 for a numpy-2 build, 1 for a numpy-1.x build, None when the file does not use numpy's C API.

    One pass over data[start:end]: each occurrence of the common tail is judged by what precedes it.
    """
    end = len(data) if end is None else end
    found = None
    at = data.find(_TAIL, start, end)
    while at >= 0:
        if data[max(start, at - len(_NUMPY2_HEAD)) : at] == _NUMPY2_HEAD:
            return 2
        if data[max(start, at - len(_NUMPY1_HEAD)) : at] == _NUMPY1_HEAD:
            found = 1
        at = data.find(_TAIL, at + 1, end)
    return found


#: ELF section header flags and the type of a section without contents in the file.
_SHF_ALLOC, _SHF_EXECINSTR, _SHT_NOBITS = 0x2, 0x4, 8


def elf_data_sections(data: bytes | mmap.mmap) -> list[tuple[int, int]] | None:
    """(start, end) in the file of an ELF object's loaded sections that are not machine code.

    Compilers put string literals (`import_array()`'s module name) in .rodata or .data, and the
    dynamic linker's names (`PyInit_<name>`) in .dynstr: all loaded, none executable. Machine
    code (.text) and what is not loaded (debug info, the static symbol table) are most of a
    binary's bytes, and the only parts skipped. None when `data` is not an ELF file whose section
    table can be read (then the whole file is searched). tests/analysis/test_numpy_abi_elf.py
    compares both searches on every installed binary.
    """
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    wide = data[4] == 2
    order = "<" if data[5] == 1 else ">"
    if wide:
        shoff = struct.unpack_from(order + "Q", data, 0x28)[0]
        entsize, count = struct.unpack_from(order + "HH", data, 0x3A)
        header = struct.Struct(order + "IIQQQQ")  # name, type, flags, addr, offset, size
    else:
        shoff = struct.unpack_from(order + "I", data, 0x20)[0]
        entsize, count = struct.unpack_from(order + "HH", data, 0x2E)
        header = struct.Struct(order + "IIIIII")
    if count == 0 or entsize < header.size or shoff + entsize * count > len(data):
        return None  # no section table (or 65,280 sections and more: counted elsewhere)
    out: list[tuple[int, int]] = []
    for i in range(count):
        _name, kind, flags, _addr, offset, size = header.unpack_from(data, shoff + i * entsize)
        if kind == _SHT_NOBITS or not flags & _SHF_ALLOC or flags & _SHF_EXECINSTR or not size:
            continue
        if offset + size > len(data):
            return None
        out.append((offset, offset + size))
    return out


def numpy_build_of(path: Path) -> tuple[int | None, bool]:
    """(numpy build, is an extension module) of a binary file, mapped rather than read whole.

    In an ELF file only the sections that can hold the marker strings are searched."""
    if path.stat().st_size > MAX_BINARY_BYTES:
        return None, False
    with path.open("rb") as fh:
        try:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            return None, False
        with mm:
            ranges = elf_data_sections(mm) or [(0, len(mm))]
            builds = [numpy_build_of_bytes(mm, start, end) for start, end in ranges]
            build = max((b for b in builds if b is not None), default=None)
            # An extension module exports PyInit_<name>; a plain shared library does not.
            init = b"PyInit_" + path.name.split(".", 1)[0].encode() + b"\0"
            return build, any(mm.find(init, start, end) >= 0 for start, end in ranges)


def extension_module_name(rel_path: str, packages: set[str]) -> str | None:
    """`pkg/sub/_m.cpython-311-x86_64-linux-gnu.so` -> "pkg.sub._m" when pkg/sub is a package."""
    p = PurePosixPath(rel_path)
    stem = p.name.split(".", 1)[0]
    folder = ".".join(p.parts[:-1])
    if not stem.isidentifier() or (folder and folder not in packages):
        return None
    return f"{folder}.{stem}" if folder else stem


def wheel_numpy_major(wheel: Path) -> int | None:
    """The oldest numpy major any binary in the wheel was built against (None: no numpy C API)."""
    import zipfile  # (here: the doctor's start-up reads installed binaries, never a wheel)

    majors: list[int] = []
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if is_binary(name):
                m = numpy_build_of_bytes(zf.read(name))
                if m is not None:
                    majors.append(m)
    return min(majors) if majors else None
