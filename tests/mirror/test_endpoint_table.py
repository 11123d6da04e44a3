"""docs/mirror.md's "Hub endpoints" table is true: each row's request, sent to a running mirror, reaches a
handler (served), gets a specific refusal (refused) or the catch-all answer (not served)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mirror_server import import_repo, make_tiny_repo, start_mirror

DOC = Path(__file__).resolve().parents[2] / "docs" / "mirror.md"
STATUSES = ("served", "refused", "not served")


def table_rows() -> list[dict[str, str]]:
    """The rows of the table under '## Hub endpoints'."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Hub endpoints\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("method", "---") or not line.startswith("|"):
            continue
        rows.append(dict(zip(("method", "path", "used_by", "status", "notes"), cells, strict=True)))
    return rows


ROWS = table_rows()


def test_table_is_well_formed() -> None:
    assert len(ROWS) >= 40
    assert all(r["status"] in STATUSES for r in ROWS), [r for r in ROWS if r["status"] not in STATUSES]
    assert all(r["path"].startswith("`/") for r in ROWS)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    d = tmp_path_factory.mktemp("table")
    src = make_tiny_repo(d / "src", big=2000)
    sha = import_repo(d / "store", src, "acme/tiny")
    import_repo(d / "store", src, "acme/tiny", repo_type="dataset")
    import_repo(d / "store", src, "acme/sp", repo_type="space")
    head = json.loads((d / "store/repos/models/acme/tiny/commits" / f"{sha}.json").read_text())
    oid = head["files"]["model.safetensors"]["sha256"]
    server = start_mirror(d / "store")
    try:
        yield {"url": server.url, "sha": sha, "oid": oid}
    finally:
        server.stop()


def _requests(row: dict[str, str], m: dict[str, str]) -> Iterator[tuple[str, str, bytes, str]]:
    path = row["path"].split("`")[1]
    # Repo-type variants: /api/{type}s/... and, outside /api/, the datasets/ prefix of {repo}.
    plurals = ["models", "datasets"] if "{type}s" in path or path.startswith("/{repo}") else [""]
    for method in (x.strip() for x in row["method"].split(",")):
        for plural in plurals:
            repo = "acme/tiny" if plural != "datasets" or path.startswith("/api/") else "datasets/acme/tiny"
            url = (
                path.replace("{type}s", plural)
                .replace("{repo}", repo)
                .replace("{space}", "acme/sp")
                .replace("{rev}", "main")
                .replace("{path}", "config.json")
                .replace("{sha}", m["sha"])
                .replace("{oid}", m["oid"])
                .replace("{hash}", "0" * 64)
            )
            assert not re.search(r"\{\w+\}", url), f"unknown placeholder in {path}"
            body, ctype = b"{}", "application/json"
            if "(download)" in row["path"] or "(upload)" in row["path"]:
                op = "download" if "(download)" in row["path"] else "upload"
                body = json.dumps({"operation": op, "objects": [{"oid": m["oid"], "size": 2000}]}).encode()
                ctype = "application/vnd.git-lfs+json"
            elif url.endswith("/git-upload-pack"):
                body, ctype = b"0000", "application/x-git-upload-pack-request"
            yield method, m["url"] + url, body, ctype


def _send(method: str, url: str, body: bytes, ctype: str) -> tuple[int, str]:
    data = body if method in ("POST", "PUT", "DELETE") else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", "Bearer dev-token")
    if data is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers.get("X-Error-Message", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("X-Error-Message", "")


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['method']} {r['path']}" for r in ROWS])
def test_row_matches_the_server(mirror: dict[str, str], row: dict[str, Any]) -> None:
    for method, url, body, ctype in _requests(row, mirror):
        status, message = _send(method, url, body, ctype)
        catch_all = (status == 404 and message == "Not found.") or status == 501
        where = f"{method} {url} -> {status} {message!r}"
        if row["status"] == "served":
            assert not catch_all and status < 500, where
        elif row["status"] == "refused":
            assert not catch_all and 400 <= status < 500, where
        else:
            assert catch_all, where
