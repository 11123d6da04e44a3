"""The `datasets` library against a served mirror: load_dataset by tag, and push_to_hub then load_dataset."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from mirror_server import run_client, start_mirror

pytest.importorskip("datasets")
# Dataset.push_to_hub needs LFS uploads (preupload answering `lfs`, the LFS batch upload API): helper
# sec's work for issue 17 (mirror/lfs_upload.py, behind MirrorConfig.lfs_uploads). Until that module
# exists the push test is an expected failure; from then on it is a plain test (strict xfail).
LFS_UPLOADS = importlib.util.find_spec("gator_setup.mirror.lfs_upload") is not None


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    opts = {"lfs_uploads": True} if LFS_UPLOADS else {}
    server = start_mirror(Path(tmp_path_factory.mktemp("ds")) / "store", **opts)
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
    not LFS_UPLOADS,
    reason="needs LFS uploads (MirrorConfig.lfs_uploads, helper sec, issue 17): with every file "
    "'regular', datasets deletes its parquet shard after preupload and the commit cannot find it",
    strict=True,
)
def test_push_to_hub_then_load_dataset(url: str) -> None:
    code = """
import json
from datasets import Dataset, load_dataset
Dataset.from_dict({"x": [1, 2, 3], "y": ["a", "b", "c"]}).push_to_hub("dev/pushed", token="dev-token")
print(json.dumps(load_dataset("dev/pushed", split="train").to_dict()))
"""
    # hf_xet would send `lfs` files to a Xet CAS, which the mirror does not serve.
    proc = run_client(code, url, timeout=300, env={"HF_HUB_DISABLE_XET": "1"})
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"x": [1, 2, 3], "y": ["a", "b", "c"]}
