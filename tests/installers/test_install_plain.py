"""Installs that need no torch: a transformers-layout repo by org/name, resume edge cases, the lock file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_hub import FakeHub

from gator_setup.installers.errors import InstallError
from gator_setup.installers.install import InstallOptions, install_models
from gator_setup.installers.lockfile import read_lock

REPO = "someorg/tiny-llm"
SHARD = "model-00001-of-00002.safetensors"


@pytest.fixture()
def llm_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "original").mkdir(parents=True)
    (root / "config.json").write_text('{"model_type": "llama"}')
    (root / "tokenizer.json").write_text("{}")
    (root / "model.safetensors.index.json").write_text('{"weight_map": {}}')
    (root / SHARD).write_bytes(os.urandom(700_000))
    (root / "model-00002-of-00002.safetensors").write_bytes(os.urandom(300_000))
    (root / "pytorch_model.bin").write_bytes(os.urandom(1000))
    (root / "original" / "consolidated.00.pth").write_bytes(os.urandom(1000))
    (root / "README.md").write_text("# tiny")
    return root


@pytest.fixture()
def hub(llm_repo: Path) -> Iterator[Any]:
    with FakeHub() as server:
        server.add(REPO, llm_repo)
        yield server


def _opts(hub: Any, tmp: Path, **kw: Any) -> InstallOptions:
    base: dict[str, Any] = dict(
        names=(REPO,),
        endpoint=hub.url,
        cache_dir=str(tmp / "cache"),
        lock_path=str(tmp / "gator-models.lock"),
        progress=False,
        catalog_path=str(tmp / "none.toml"),
    )
    base.update(kw)
    return InstallOptions(**base)


def test_org_name_detected_as_transformers(hub: Any, tmp_path: Path) -> None:
    res = install_models(_opts(hub, tmp_path))
    m = res.models[0]
    assert m.kind == "transformers"
    assert set(m.files) == {
        "config.json",
        "tokenizer.json",
        "model.safetensors.index.json",
        SHARD,
        "model-00002-of-00002.safetensors",
    }
    assert "pytorch_model.bin" not in hub.sent and "original/consolidated.00.pth" not in hub.sent
    assert read_lock(tmp_path / "gator-models.lock")[REPO].kind == "transformers"


def test_server_ignoring_range_restarts_the_file(hub: Any, tmp_path: Path, llm_repo: Path) -> None:
    """A partial file plus a server that answers 200 to Range must not append (hub's 'Consistency check')."""
    data = (llm_repo / SHARD).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    blobs = tmp_path / "cache" / f"models--{REPO.replace('/', '--')}" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / f"{sha}.incomplete").write_bytes(data[:1000])
    hub.faults.ignore_range.add(SHARD)
    res = install_models(_opts(hub, tmp_path))
    assert res.models[0].hashes[SHARD] == sha
    assert (blobs / sha).read_bytes() == data


def test_partial_longer_than_the_file_is_discarded(hub: Any, tmp_path: Path, llm_repo: Path) -> None:
    data = (llm_repo / SHARD).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    blobs = tmp_path / "cache" / f"models--{REPO.replace('/', '--')}" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / f"{sha}.incomplete").write_bytes(b"x" * (len(data) + 10))
    install_models(_opts(hub, tmp_path))
    assert (blobs / sha).read_bytes() == data


def test_resume_after_partial_sends_only_the_rest(hub: Any, tmp_path: Path, llm_repo: Path) -> None:
    data = (llm_repo / SHARD).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    blobs = tmp_path / "cache" / f"models--{REPO.replace('/', '--')}" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / f"{sha}.incomplete").write_bytes(data[:400_000])
    install_models(_opts(hub, tmp_path))
    assert hub.sent[SHARD] == len(data) - 400_000
    assert (SHARD, 400_000) in hub.ranges


def test_second_run_downloads_nothing_and_rechecks_hashes(hub: Any, tmp_path: Path) -> None:
    install_models(_opts(hub, tmp_path))
    hub.reset_counts()
    res = install_models(_opts(hub, tmp_path))
    assert not hub.sent
    assert len(res.models[0].hashes) == 5


def test_malformed_lock_is_one_line(hub: Any, tmp_path: Path) -> None:
    lock = tmp_path / "gator-models.lock"
    lock.write_text('version = 1\n[[model]]\nname = "x"\n')
    with pytest.raises(InstallError, match="malformed"):
        install_models(_opts(hub, tmp_path, names=(), locked=True))
    lock.write_text("version = 7\n")
    with pytest.raises(InstallError, match="unsupported lock version"):
        install_models(_opts(hub, tmp_path, names=(), locked=True))


def test_revision_not_found(hub: Any, tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="Revision 'nope' not found"):
        install_models(_opts(hub, tmp_path, revision="nope"))
