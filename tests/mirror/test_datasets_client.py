"""The `datasets` library against a served mirror: load_dataset by tag, and push_to_hub then load_dataset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from mirror_server import run_client, start_mirror

pytest.importorskip("datasets")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = start_mirror(Path(tmp_path_factory.mktemp("ds")) / "store")
    try:
        yield server.url
    finally:
        server.stop()


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


@pytest.mark.xfail(
    reason="needs LFS uploads (preupload answering lfs + the LFS batch upload API), built by helper sec "
    "for issue 17: datasets deletes its parquet shard after preupload, so the 'regular' mode fails",
    strict=False,
)
def test_push_to_hub_then_load_dataset(url: str) -> None:
    code = """
import json
from datasets import Dataset, load_dataset
Dataset.from_dict({"x": [1, 2, 3], "y": ["a", "b", "c"]}).push_to_hub("dev/pushed", token="dev-token")
print(json.dumps(load_dataset("dev/pushed", split="train").to_dict()))
"""
    out = json.loads(run_client(code, url, timeout=300).stdout.strip().splitlines()[-1])
    assert out == {"x": [1, 2, 3], "y": ["a", "b", "c"]}
