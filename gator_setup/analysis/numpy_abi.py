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
import zipfile
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
    name = PurePosixPath(rel_path).name
    return name.endswith(_BINARY_SUFFIXES) or ".so." in name


def numpy_build_of_bytes(data: bytes | mmap.mmap) -> int | None:
    """2 for a numpy-2 build, 1 for a numpy-1.x build, None when the file does not use numpy's C API.

    One pass over the bytes: each occurrence of the common tail is judged by what precedes it.
    """
    found = None
    at = data.find(_TAIL)
    while at >= 0:
        if data[max(0, at - len(_NUMPY2_HEAD)) : at] == _NUMPY2_HEAD:
            return 2
        if data[max(0, at - len(_NUMPY1_HEAD)) : at] == _NUMPY1_HEAD:
            found = 1
        at = data.find(_TAIL, at + 1)
    return found


def numpy_build_of(path: Path) -> tuple[int | None, bool]:
    """(numpy build, is an extension module) of a binary file, mapped rather than read whole."""
    if path.stat().st_size > MAX_BINARY_BYTES:
        return None, False
    with path.open("rb") as fh:
        try:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            return None, False
        with mm:
            build = numpy_build_of_bytes(mm)
            stem = path.name.split(".", 1)[0]
            # An extension module exports PyInit_<name>; a plain shared library does not.
            return build, mm.find(b"PyInit_" + stem.encode() + b"\0") >= 0


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
    majors: list[int] = []
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if is_binary(name):
                m = numpy_build_of_bytes(zf.read(name))
                if m is not None:
                    majors.append(m)
    return min(majors) if majors else None
