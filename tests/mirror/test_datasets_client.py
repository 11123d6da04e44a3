"""The `datasets` library against a served mirror: load_dataset by tag, and push_to_hub (through Xet with
the default client) then load_dataset."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from mirror_server import run_client, start_mirror

from gator_setup.mirror.server import BackgroundServer

pytest.importorskip("datasets")
# hf_xet is what huggingface_hub 2.x installs by default on x86_64 and arm64: with it, the push goes
# through the mirror's Xet routes (xet_routes.py), without it through the LFS batch API.
HF_XET = importlib.util.find_spec("hf_xet") is not None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    srv = start_mirror(Path(tmp_path_factory.mktemp("ds")) / "store")  # `gator mirror serve` defaults
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def url(server: BackgroundServer) -> str:
    return server.url


def test_load_dataset_by_tag(url: str) -> None:
    code = """
import json
from datasets import load_dataset
from huggingface_hub import HfApi
api = HfApi(token="dev-token")
api.create_repo("dev/csvds", repo_type="dataset")
api.upload_file(path_or_fileobj=b"x,y\\n1,a\\n2,b\\n", path_in_repo="train.csv", repo_id="dev/csvds",
                repo_type="dataset")
api.create_tag("dev/csvds", tag="v1", repo_type="dataset")
api.upload_file(path_or_fileobj=b"x,y\\n9,z\\n", path_in_repo="train.csv", repo_id="dev/csvds",
                repo_type="dataset")
old = load_dataset("dev/csvds", revision="v1", split="train").to_dict()
new = load_dataset("dev/csvds", split="train").to_dict()
print(json.dumps([old, new]))
"""
    old, new = json.loads(run_client(code, url, timeout=300).stdout.strip().splitlines()[-1])
    assert old == {"x": [1, 2], "y": ["a", "b"]} and new == {"x": [9], "y": ["z"]}


def test_push_to_hub_then_load_dataset(server: BackgroundServer) -> None:
    code = """
import json
from datasets import Dataset, load_dataset
Dataset.from_dict({"x": [1, 2, 3], "y": ["a", "b", "c"]}).push_to_hub("dev/pushed", token="dev-token")
print(json.dumps(load_dataset("dev/pushed", split="train").to_dict()))
"""
    stats = server.state.stats
    before = (stats.get("xet_xorbs", 0), stats.get("xet_shards", 0))
    # The default client: nothing disables Xet.
    proc = run_client(code, server.url, timeout=300)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"x": [1, 2, 3], "y": ["a", "b", "c"]}
    after = (stats.get("xet_xorbs", 0), stats.get("xet_shards", 0))
    if HF_XET:  # the parquet shard really went through Xet: xorbs and a shard were posted
        assert after[0] > before[0] and after[1] > before[1], (before, after)
