"""`gator mirror` commands: import, ls, prune, serve start-up rules, one-line errors, access log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mirror_server import make_tiny_repo

from gator_setup.cli.app import main


def run(args: list[str], capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_import_ls_prune(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = make_tiny_repo(tmp_path / "src")
    store = tmp_path / "store"
    code, out, _ = run(["mirror", "import", str(src), "--repo", "acme/tiny", "--storage", str(store)], capsys)
    assert code == 0 and "acme/tiny (model) main -> " in out and "4 files" in out
    code, out, _ = run(
        ["mirror", "import", str(src), "--repo", "acme/ds", "--storage", str(store), "--type", "dataset"],
        capsys,
    )
    assert code == 0
    code, out, _ = run(["mirror", "ls", "--storage", str(store), "--json"], capsys)
    rows = {r["id"]: r for r in json.loads(out)["repos"]}
    assert code == 0 and rows["acme/tiny"]["type"] == "model" and rows["acme/ds"]["type"] == "dataset"
    assert rows["acme/tiny"]["bytes"] > 300_000 and "main" in rows["acme/tiny"]["branches"]
    # Local uploads are never evicted, whatever the limit: prune says so and fails (still over).
    code, out, err = run(["mirror", "prune", "--storage", str(store), "--max-size", "1K"], capsys)
    assert code == 1 and out.startswith("removed 0 blobs") and "never evicted" in out and "over" in err


def test_prune_evicts_lru_upstream_blobs_only(tmp_path: Path) -> None:
    from gator_setup.mirror.core import prune_store
    from gator_setup.mirror.store import Store

    store = Store(tmp_path)
    old = store.put_bytes(b"a" * 1000)["sha256"]
    new = store.put_bytes(b"b" * 1000)["sha256"]
    past = time.time() - 3600
    os.utime(store.blob_path(old), (past - 10, past - 10))
    os.utime(store.blob_path(new), (past, past))
    r = prune_store(tmp_path, 1500)
    assert (r.removed, r.freed, r.kept) == (1, 1000, 1000)
    assert not store.has_blob(old) and store.has_blob(new)
    # A blob used within the last minute (being served) is kept even over the limit.
    store.touch_blob(new)
    assert prune_store(tmp_path, 0).removed == 0


def test_bad_input_is_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ["mirror", "import", str(tmp_path / "nope"), "--repo", "acme/x", "--storage", str(tmp_path)],
        ["mirror", "import", str(tmp_path), "--repo", "bad", "--storage", str(tmp_path)],
        ["mirror", "import", str(tmp_path), "--repo", "a/b", "--storage", str(tmp_path), "--type", "zip"],
        ["mirror", "prune", "--storage", str(tmp_path), "--max-size", "lots"],
        ["mirror", "ls", "--storage", str(tmp_path / "missing")],
        ["mirror", "serve", "--storage", str(tmp_path), "--host", "0.0.0.0"],
    ):
        code, _, err = run(args, capsys)
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (args, err)
    _, _, err = run(["mirror", "serve", "--storage", str(tmp_path), "--host", "0.0.0.0"], capsys)
    assert "--tokens" in err
    tokens = tmp_path / "tokens"
    tokens.write_text("short alice write\n")
    code, _, err = run(["mirror", "serve", "--storage", str(tmp_path), "--tokens", str(tokens)], capsys)
    assert code == 2 and "tokens:1" in err


def test_serve_announces_open_mode_and_logs_one_line_per_request(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "gator_setup", "mirror", "serve", "--storage", str(tmp_path), "--port", "0"]
    cmd += ["--workers", "2"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline() for _ in range(4)]  # the last: "2 worker processes on port N"
        assert "open development mode" in "".join(lines)
        url = next(w for ln in lines for w in ln.split() if w.startswith("HF_ENDPOINT=")).split("=", 1)[1]
        req = urllib.request.Request(url + "/healthz", headers={"Authorization": "Bearer hf_supersecret"})
        assert json.loads(urllib.request.urlopen(req, timeout=10).read())["status"] == "ok"
        line = proc.stderr.readline()
        assert '"GET /healthz HTTP/1.1" 200' in line and "supersecret" not in line
    finally:
        proc.terminate()
        proc.wait(10)
