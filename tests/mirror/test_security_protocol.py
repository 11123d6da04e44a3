"""Security: strict input handling at the protocol edges (issue 17 item 8).

Range headers by RFC 9110, identical for HEAD and GET and for every file size; ids from a malicious
upstream never used to build a path.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from mirror_fakehub import FakeHub, FakeRepo, make_files
from mirror_server import import_repo, start_mirror

from gator_setup.mirror.server import BackgroundServer

SIZES = {"empty.txt": 0, "ten.txt": 10, "big.bin": 300_000}
VALID = ["bytes=0-0", "bytes=0-4", "bytes=3-", "bytes=-3", "bytes=2-999999", "bytes=-999999", "BYTES=1-2"]
VALID += ["bytes=10-"]
INVALID = [
    "bytes=+1-2",
    "bytes=1-+2",
    "bytes=\u0661-2",  # an Arabic-Indic digit one
    "bytes=-0",
    "bytes=3-1",
    "bytes= 0-1",
    "bytes=0 -1",
    "bytes=0-1,2-3",
    "bytes=0x1-2",
    "items=0-1",
    "bytes=",
    "bytes=-",
    "bytes",
    "=0-1",
    "bytes=99999999999999999999999-",
]


def req(url: str, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(url).port, timeout=30)
    conn.putrequest(method, path, skip_accept_encoding=True)
    for k, v in headers.items():
        conn.putheader(k, v.encode("utf-8"))
    conn.endheaders()
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def expected(rng: str, size: int) -> tuple[int, int, int] | None:
    """(status, start, count) by RFC 9110 for one range; None when it must be 416."""
    m = re.fullmatch(r"(?i:bytes)=([0-9]*)-([0-9]*)", rng)
    if not m or (m[1] == "" and m[2] == ""):
        return None
    if m[1] == "":
        n = int(m[2])
        if n == 0 or size == 0:
            return None
        return 206, max(size - n, 0), min(n, size)
    start = int(m[1])
    stop = min(int(m[2]) if m[2] else size - 1, size - 1)
    if start >= size or (m[2] and int(m[2]) < start):
        return None
    return 206, start, stop - start + 1


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BackgroundServer, str]]:
    d = tmp_path_factory.mktemp("rng")
    src = d / "src"
    src.mkdir()
    for name, size in SIZES.items():
        (src / name).write_bytes(bytes((i * 31) % 256 for i in range(size)))
    sha = import_repo(d / "store", src, "acme/ranges")
    server = start_mirror(d / "store")
    try:
        yield server, sha
    finally:
        server.stop()


@pytest.mark.parametrize("name", list(SIZES))
def test_range_is_strict_and_head_agrees_with_get_for_every_size(
    local: tuple[BackgroundServer, str], name: str
) -> None:
    server, sha = local
    size = SIZES[name]
    content = bytes((i * 31) % 256 for i in range(size))
    path = f"/acme/ranges/resolve/{sha}/{name}"
    wrong = []
    for rng in VALID + INVALID:
        want = expected(rng, size) if rng in VALID else None
        g_st, g_h, g_body = req(server.url, "GET", path, {"Range": rng})
        h_st, h_h, _ = req(server.url, "HEAD", path, {"Range": rng})
        same = (g_st, g_h.get("content-range"), g_h.get("content-length")) == (
            h_st,
            h_h.get("content-range"),
            h_h.get("content-length"),
        )
        if want is None:
            ok = g_st == 416 and g_h.get("content-range") == f"bytes */{size}"
        else:
            status, start, count = want
            ok = (
                g_st == status
                and g_body == content[start : start + count]
                and g_h.get("content-range") == f"bytes {start}-{start + count - 1}/{size}"
            )
        if not (ok and same):
            wrong.append((rng, g_st, h_st, g_h.get("content-range"), h_h.get("content-range")))
    assert wrong == []
    # No Range: the whole file, HEAD and GET alike.
    assert req(server.url, "GET", path, {})[:1] == req(server.url, "HEAD", path, {})[:1] == (200,)


def test_malicious_upstream_ids_never_name_a_path(tmp_path: Path) -> None:
    files = make_files()
    hub = FakeHub({"evil/repo": FakeRepo(files)}).start()

    def tamper(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for e in entries:
            if e["path"] == "config.json":
                e["oid"] = "../../../../../../../../etc/passwd"
            if e["path"] == "model.safetensors":
                e["lfs"]["oid"] = "../../../../../../etc/passwd"
            if e["path"] == "sub/readme.txt":
                e["size"] = "7; rm -rf /"
        return entries

    hub.tamper = tamper
    server = start_mirror(tmp_path / "cache", upstream=hub.url)
    try:
        for f in ("config.json", "model.safetensors", "sub/readme.txt"):
            for method in ("HEAD", "GET"):
                st, h, body = req(server.url, method, f"/evil/repo/resolve/{'a' * 40}/{f}", {})
                assert (st, h.get("x-error-code")) == (404, "EntryNotFound"), (f, st, body)
                assert b"root:" not in body
        assert not list((tmp_path / "cache").rglob("passwd"))
    finally:
        server.stop()
        hub.stop()
