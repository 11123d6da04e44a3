"""Air gap: pin (with resume) from a Hub-like upstream, export a bundle, import it on an isolated
mirror that then serves the same commit and ETags; tampered bundles are refused."""

from __future__ import annotations

import hashlib
import http.client
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from mirror_fakehub import FakeHub, FakeRepo, make_files
from mirror_server import run_client, start_mirror

from gator_setup.cli.app import main
from gator_setup.mirror import gitobj


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    h = FakeHub({"acme/tiny": FakeRepo(make_files())}).start()
    try:
        yield h
    finally:
        h.stop()


def head(url: str, path: str) -> dict[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(url).port, timeout=10)
    conn.request("HEAD", path)
    r = conn.getresponse()
    r.read()
    return {k.lower(): v for k, v in r.getheaders()}


def test_pin_resume_export_import_serves_hub_identity(hub: FakeHub, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    online, isolated, bundle = tmp_path / "online", tmp_path / "isolated", tmp_path / "tiny.gmb"
    hub.faults.drop_after = 900_000
    args = ["mirror", "pin", "acme/tiny", "--storage", str(online), "--upstream", hub.url]
    assert main(args) == 2
    assert "run the same command again to resume" in capsys.readouterr().err
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "resumed at 9" in err and "model.safetensors: 2000000 bytes verified" in err
    assert len(hub.requests("cdn")) == 2  # the dropped request and the resumed one

    assert main(["mirror", "export", "acme/tiny@main", str(bundle), "--storage", str(online)]) == 0
    assert main(["mirror", "import-bundle", str(bundle), "--storage", str(isolated)]) == 0
    server = start_mirror(isolated)
    try:
        big = make_files()["model.safetensors"]
        h = head(server.url, f"/acme/tiny/resolve/{'a' * 40}/model.safetensors")
        assert h["x-repo-commit"] == "a" * 40 and h["x-linked-etag"] == f'"{hashlib.sha256(big).hexdigest()}"'
        h = head(server.url, f"/acme/tiny/resolve/{'a' * 40}/config.json")
        assert h["etag"] == f'"{gitobj.git_blob_sha1(make_files()["config.json"])}"'
        out = run_client(
            "from huggingface_hub import snapshot_download; print(snapshot_download('acme/tiny'))", server.url
        )
        assert out.stdout.strip().endswith("a" * 40)
    finally:
        server.stop()


def test_tampered_bundle_is_refused(hub: FakeHub, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    online, bundle = tmp_path / "online", tmp_path / "b.gmb"
    assert main(["mirror", "pin", "acme/tiny", "--storage", str(online), "--upstream", hub.url]) == 0
    assert main(["mirror", "export", "acme/tiny", str(bundle), "--storage", str(online)]) == 0
    bad = tmp_path / "bad.gmb"
    with tarfile.open(bundle) as src, tarfile.open(bad, "w") as dst:
        for m in src:
            f = src.extractfile(m)
            data = f.read() if f else b""
            if m.name.startswith("blobs/") and m.size > 1000:
                data = b"X" + data[1:]
            dst.addfile(m, io.BytesIO(data))
    capsys.readouterr()
    assert main(["mirror", "import-bundle", str(bad), "--storage", str(tmp_path / "iso")]) == 2
    err = capsys.readouterr().err
    assert "does not match its manifest" in err and err.count("\n") == 1
    # Whatever was published is verified content; the tampered blob is not among it.
    for p in (tmp_path / "iso" / "blobs").glob("*/*"):
        assert hashlib.sha256(p.read_bytes()).hexdigest() == p.name
    assert not list((tmp_path / "iso" / "repos").glob("models/acme/tiny/commits/*.json"))
    assert main(["mirror", "export", "acme/none", str(bundle), "--storage", str(online)]) == 2
    assert main(["mirror", "import-bundle", str(tmp_path / "nothing"), "--storage", str(online)]) == 2
