"""The C helpers (analysis/_speedups.c) give exactly what their pure-Python originals give."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gator_setup.analysis import candidates, quickbind, speedups
from gator_setup.analysis.scan import _decodes

fast = speedups.native()
needs_fast = pytest.mark.skipif(fast is None, reason="the C helpers were not built (no C compiler?)")
EXAMPLES = 300 if os.environ.get("CI") else 3000


def test_the_c_helpers_are_built_where_asked() -> None:
    """.ci/run sets GATOR_REQUIRE_SPEEDUPS: there, a build that silently failed is a failure."""
    if os.environ.get("GATOR_REQUIRE_SPEEDUPS"):
        assert fast is not None


def test_pure_python_switch_turns_them_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speedups, "PURE_PYTHON", True)
    assert speedups.native() is None


def _real_sources() -> list[bytes]:
    """Real Python source to compare on: the standard library's top folder and gator's own."""
    roots = [Path(os.__file__).parent, Path(speedups.__file__).parents[1]]
    files = sorted(p for root in roots for p in root.glob("*.py"))
    files += sorted(Path(speedups.__file__).parents[1].rglob("*.py"))
    return [p.read_bytes() for p in files]


# ------------------------------------------------------------------------------ utf8_valid

BOUNDARIES = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1]
BOUNDARIES += [0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]


@needs_fast
def test_utf8_valid_on_every_short_sequence_of_boundary_bytes() -> None:
    assert fast is not None
    for n in range(4):
        for seq in itertools.product(BOUNDARIES, repeat=n):
            data = bytes(seq)
            assert fast.utf8_valid(data) is _decodes(data), data
    for lead in (0xF0, 0xF1, 0xF4):  # four-byte forms, with their second byte's limits
        for second in (0x80, 0x8F, 0x90, 0xBF, 0xC0):
            for data in (bytes([lead, second, 0x80, 0x80]), bytes([lead, second, 0x80, 0x41])):
                assert fast.utf8_valid(data) is _decodes(data), data


@needs_fast
@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=64), st.integers(0, 40), st.sampled_from(["", "é", "€", "😀"]))
def test_utf8_valid_matches_decode(tail: bytes, ascii_run: int, char: str) -> None:
    assert fast is not None
    # ASCII runs longer than the eight-byte steps, a valid character, then anything
    data = b"a" * ascii_run + char.encode() + tail
    assert fast.utf8_valid(data) is _decodes(data)
    assert fast.utf8_valid(memoryview(data)) is _decodes(data)


@needs_fast
def test_utf8_valid_on_real_files() -> None:
    assert fast is not None
    for data in _real_sources():
        assert fast.utf8_valid(data) is _decodes(data)
        assert fast.utf8_valid(data + b"\xff") is False


# ---------------------------------------------------------------------------- strip_opaque

OPAQUE_PIECES = [b"#", b'"', b"'", b"\\", b"\n", b"\r", b"a", b" ", b'"""', b"'''"]


@needs_fast
@settings(max_examples=EXAMPLES * 3, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(OPAQUE_PIECES), max_size=40))
def test_strip_opaque_matches_the_regex(pieces: list[bytes]) -> None:
    assert fast is not None
    data = b"".join(pieces)
    assert fast.strip_opaque(data) == quickbind._OPAQUE.sub(b"", data)


@needs_fast
def test_strip_opaque_on_real_files() -> None:
    assert fast is not None
    for data in _real_sources():
        assert fast.strip_opaque(data) == quickbind._OPAQUE.sub(b"", data)


# -------------------------------------------------------------------- import_keyword_lines

STATEMENT_PIECES = [b"import", b"from ", b"torch", b"numpy", b"\n", b"\\", b"\r", b";", b":", b" ", b"x"]
STATEMENT_PIECES += [b"(", b")", b",", b"#", b".", b" as ", b"impor", b"t"]


MANY_NAMES = (*(b"n%d" % i for i in range(40)), b"numpy")


def _spans(data: bytes, present: tuple[bytes, ...], monkeypatch: pytest.MonkeyPatch, c: bool) -> list:
    with monkeypatch.context() as m:
        if not c:
            m.setattr(speedups, "native", lambda: None)
        return [s.span() for s in candidates._statements(data, present)]


@needs_fast
@settings(
    max_examples=EXAMPLES * 3,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    pieces=st.lists(st.sampled_from(STATEMENT_PIECES), max_size=40),
    # (past 32 names, or with b"", the C line test searches name by name instead of by first byte)
    present=st.sampled_from(
        [(), (b"torch",), (b"numpy", b"torch"), (b"x",), (b"to", b"torch", b"t"), MANY_NAMES, (b"", b"torch")]
    ),
)
def test_statements_are_the_same_with_the_c_line_test(
    pieces: list[bytes], present: tuple[bytes, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"".join(pieces)
    assert _spans(data, present, monkeypatch, True) == _spans(data, present, monkeypatch, False)


@needs_fast
def test_import_pairs_are_the_same_on_real_files(monkeypatch: pytest.MonkeyPatch) -> None:
    watched = {"os", "sys", "re", "gator_setup", "typing", "collections"}
    present = tuple(w.encode() for w in sorted(watched))
    for data in _real_sources():
        for names in (present, present[:1], ()):
            with_c = candidates.import_pairs(data, watched, names)
            with monkeypatch.context() as m:
                m.setattr(speedups, "native", lambda: None)
                without = candidates.import_pairs(data, watched, names)
            assert with_c == without


PAIR_PIECES = [
    *STATEMENT_PIECES,
    b"\t",
    b"*",
    b"nn",
    b"_a1",
    b"9",
    b"\\\n",
    b"\\\r\n",
    b"torch.nn",
    b"import ",
]
PAIR_PIECES += [b"from torch import ", b"from numpy.x import (", b"import torch", b"\nfrom", b"fromm ", b"1"]


def _pairs(data: bytes, watched: set[str], present: tuple[bytes, ...], c: bool) -> tuple:
    with pytest.MonkeyPatch.context() as m:
        if not c:
            m.setattr(speedups, "native", lambda: None)
        return candidates.import_pairs(data, watched, present)


@needs_fast
@settings(max_examples=EXAMPLES * 3, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(st.sampled_from(PAIR_PIECES), max_size=50),
    present=st.sampled_from([(), (b"torch",), (b"numpy", b"torch"), (b"x",), (b"nn",)]),
    watched=st.sampled_from([{"torch"}, {"torch", "numpy"}, {"x", "nn"}, set()]),
)
def test_import_pairs_in_c_are_the_pattern_and_targets_in_python(
    pieces: list[bytes], present: tuple[bytes, ...], watched: set[str]
) -> None:
    """The C import_pairs (statement pattern and _targets ported) against the Python regex path,
    on text built from the pieces that make statements, continuations, comments and separators."""
    data = b"".join(pieces)
    assert _pairs(data, watched, present, True) == _pairs(data, watched, present, False)


@needs_fast
def test_import_pairs_in_c_on_installed_packages() -> None:
    """Every .py file of the installed packages of this environment (the stdlib's top folder and
    gator when nothing else is installed), with the watched providers' names."""
    import sys

    watched = {"torch", "numpy", "huggingface_hub", "transformers", "diffusers", "accelerate", "os", "sys"}
    present_all = tuple(sorted(w.encode() for w in watched))
    site = [Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    files = [
        f
        for root in site
        for top in ("huggingface_hub", "diffusers", "transformers")
        for f in (root / top).rglob("*.py")
    ]
    sources = [f.read_bytes() for f in files] + _real_sources()
    assert sources
    for data in sources:
        present = tuple(n for n in present_all if n in data)
        assert _pairs(data, watched, present, True) == _pairs(data, watched, present, False)


@needs_fast
def test_import_pairs_in_c_cases() -> None:
    assert fast is not None
    data = (
        b"import torch, numpy as np\nfrom torch import (nn, # a, b\n functional as F)\n"
        b"from .x import y\nfrom torch.nn import *\nx = 1; import torch.cuda\nif a: import numpy.linalg\n"
        b"from torch import a.b, c\nimport   \nfrom torch import x\\\n, y\n"
    )
    got = fast.import_pairs(data, (b"torch", b"numpy"), (b"torch", b"numpy"))
    assert got == (
        ("torch", None),
        ("numpy", None),
        ("torch", "nn"),
        ("torch", "functional"),
        ("torch.nn", None),
        ("torch.cuda", None),
        ("numpy.linalg", None),
        ("torch", "c"),
        ("torch", "x"),
        ("torch", "y"),
    )
    assert got == _pairs(data, {"torch", "numpy"}, (b"torch", b"numpy"), False)
    with pytest.raises(TypeError):
        fast.import_pairs(b"import x", (b"x",), ("x",))  # type: ignore[arg-type]


@needs_fast
@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.lists(st.sampled_from([b"def is_", b"_available", b"def", b"is", b"_", b"\n"]), max_size=30),
    needles=st.lists(st.sampled_from([b"def is_", b"_available", b"is_x", b"", b"\n", b"zz"]), max_size=3),
)
def test_contains_all_is_all_in(data: list[bytes], needles: list[bytes]) -> None:
    assert fast is not None
    text = b"".join(data)
    assert fast.contains_all(text, tuple(needles)) is all(n in text for n in needles)


@needs_fast
def test_the_search_finds_a_needle_at_every_offset_of_the_vector_loop_and_its_tail() -> None:
    """find_bytes compares thirty-two starts at a time (AVX2) while 64 bytes are left, then sixteen
    (SSE2), then the rest one by one (first and last byte, then the whole needle): a needle at
    every offset of buffers across those sizes, and near misses that share its first and last
    bytes, read as `in` reads them."""
    assert fast is not None
    for needle in (b"ab", b"a_b", b"_available", b"import", b"x" * 17, b"def is_xx_available"):
        near = needle[:1] + b"#" * (len(needle) - 2) + needle[-1:] if len(needle) > 2 else b"a#"
        for size in range(len(needle), 140):
            for at in range(size - len(needle) + 1):
                data = bytearray(b"." * size)
                data[at : at + len(needle)] = needle
                assert fast.contains_all(bytes(data), (needle,)), (needle, size, at)
                miss = bytearray(b"." * size)
                miss[at : at + len(near)] = near
                found = fast.contains_all(bytes(miss), (needle,))
                assert found is (needle in bytes(miss)), (needle, size, at)


@needs_fast
@pytest.mark.parametrize("name", ["contains_all", "import_keyword_lines"])
def test_the_name_tuple_must_be_a_tuple_of_bytes(name: str) -> None:
    function = getattr(fast, name)
    with pytest.raises(TypeError):
        function(b"import x", ("x",))
    with pytest.raises(TypeError):
        function(b"import x", [b"x"])


@needs_fast
def test_import_keyword_lines_of_a_tuple_of_bytes() -> None:
    assert fast is not None
    assert fast.import_keyword_lines(b"import x\nimport y", (b"x",)) == [0]


# ------------------------------------------------------------------------------- read_file


@pytest.mark.skipif(not hasattr(fast, "read_file"), reason="the C helpers were not built (or Windows)")
def test_read_file_reads_as_read_one_does(tmp_path: Path) -> None:
    from gator_setup.analysis import scan

    assert fast is not None
    (tmp_path / "plain.py").write_bytes(b"import torch\n" * 1000)
    (tmp_path / "empty.py").write_bytes(b"")
    (tmp_path / "big.py").write_bytes(b"x" * 5000)
    (tmp_path / "folder.py").mkdir()
    (tmp_path / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    cases = ["plain.py", "empty.py", "big.py", "folder.py", "dangling.py", "missing.py"]
    for limit in (scan.MAX_FILE_BYTES, 4096):
        for name in cases:
            path = str(tmp_path / name)
            sig_c: list[object] = []
            sig_py: list[object] = []
            with pytest.MonkeyPatch.context() as m:
                m.setattr(scan, "MAX_FILE_BYTES", limit)
                got = scan._read_one(path, sig_c, fast.read_file)
                want = scan._read_one(path, sig_py)
            assert got == want, name
            assert sig_c == sig_py, name
    data, size, mtime_ns, err = fast.read_file(tmp_path / "plain.py", 1 << 20)  # a PathLike too
    st = (tmp_path / "plain.py").stat()
    assert (data, size, mtime_ns, err) == (
        (tmp_path / "plain.py").read_bytes(),
        st.st_size,
        st.st_mtime_ns,
        0,
    )


# ------------------------------------------------------------------------------ walk_files


@pytest.mark.skipif(not hasattr(fast, "walk_files"), reason="the C helpers were not built (or Windows)")
@pytest.mark.parametrize("odd_name", [False, True], ids=["utf8-names", "a-name-that-is-not-utf8"])
def test_walk_files_walks_as_the_python_walk(tmp_path: Path, odd_name: bool) -> None:
    from gator_setup.analysis import scan

    assert fast is not None
    top = tmp_path / "pkg"
    for rel in ["b.py", "a.py", "Z.py", "é.py", "notes.txt", "x.py/y.py", "sub/z.py", "sub/deeper/d.py"]:
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_text("import torch\n")
    for skipped in [".hidden", "__pycache__", "meta.dist-info", "old.egg-info", "venv", "env"]:
        (top / skipped).mkdir()
        (top / skipped / "s.py").write_text("")
    (top / "inner_env").mkdir()  # a virtual environment below the top, whatever its name
    (top / "inner_env" / "pyvenv.cfg").write_text("home = /usr\n")
    (top / "inner_env" / "v.py").write_text("")
    (top / "cfg_is_a_folder").mkdir()  # a folder named pyvenv.cfg does not make a venv
    (top / "cfg_is_a_folder" / "pyvenv.cfg").mkdir()
    (top / "cfg_is_a_folder" / "kept.py").write_text("")
    (top / "linked").symlink_to(top / "sub")  # followed, as DirEntry.is_dir() follows it
    (top / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    if odd_name:
        os.mkdir(os.path.join(os.fsencode(top), b"bad\xff"))
        (top / os.fsdecode(b"bad\xff") / "q.py").write_text("")
    dist = scan.DistTop(str(top), "pkg", "pkg-1.0.dist-info", [1, 2, 3], True)
    want = scan._walk_top(dist, ())
    rels = [rel for _p, rel, _s in want]
    assert rels[:4] == ["pkg/Z.py", "pkg/a.py", "pkg/b.py", "pkg/dangling.py"]
    assert {"pkg/linked/z.py", "pkg/cfg_is_a_folder/kept.py", "pkg/x.py/y.py"} <= set(rels)
    assert not any(part in rel for rel in rels for part in ("inner_env", "hidden", "venv/", "-info"))
    assert scan._walk_top(dist, (), fast.walk_files) == want
    got = fast.walk_files(str(top), "pkg/", scan._SKIP_NAMES, scan.METADATA_DIR_SUFFIXES)
    assert (got is None) is odd_name  # a name that is not UTF-8 is left to the Python walk
