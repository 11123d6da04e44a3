"""The real huggingface_hub client, the `hf` CLI and diffusers against a served mirror (HF_ENDPOINT)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mirror_server import import_repo, make_tiny_repo, run_client, start_mirror


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    d = tmp_path_factory.mktemp("clients")
    src = make_tiny_repo(d / "src")
    commit = import_repo(d / "store", src, "acme/tiny")
    import_repo(d / "store", src, "acme/tinyset", repo_type="dataset")
    server = start_mirror(d / "store", tree_page_size=2)  # small pages: the client must follow Link
    try:
        yield server.url, commit, src
    finally:
        server.stop()


def test_downloads_and_metadata(served: tuple[str, str, Path]) -> None:
    url, commit, src = served
    code = """
import json, os
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError
out = {}
p = hf_hub_download("acme/tiny", "model.safetensors")
out["big"] = open(p, "rb").read() == open(os.environ["SRC"] + "/model.safetensors", "rb").read()
out["nested"] = open(hf_hub_download("acme/tiny", "sub/notes.txt")).read()
out["refs_main"] = open(os.path.join(p.split("/snapshots/")[0], "refs", "main")).read()
s = snapshot_download("acme/tiny")
out["snapshot"] = sorted(os.path.relpath(os.path.join(r, f), s) for r, _, fs in os.walk(s) for f in fs)
out["dataset"] = open(hf_hub_download("acme/tinyset", "config.json", repo_type="dataset")).read()
api = HfApi()
info = api.model_info("acme/tiny")
out["sha"] = info.sha
out["files"] = api.list_repo_files("acme/tiny")
out["tree"] = sorted(e.path for e in api.list_repo_tree("acme/tiny", recursive=True))
for exc, args in [(EntryNotFoundError, ("acme/tiny", "nope.txt")),
                  (RepositoryNotFoundError, ("acme/none", "x")),
                  (RevisionNotFoundError, ("acme/tiny", "config.json"))]:
    try:
        hf_hub_download(*args, revision="nobranch" if exc is RevisionNotFoundError else None)
        out[exc.__name__] = False
    except exc:
        out[exc.__name__] = True
print(json.dumps(out))
"""
    out = json.loads(run_client(code, url, env={"SRC": str(src)}).stdout.splitlines()[-1])
    files = ["README.md", "config.json", "model.safetensors", "sub/notes.txt"]
    assert out["big"] is True and out["nested"] == "nested\n"
    assert out["refs_main"] == commit and out["sha"] == commit
    assert out["snapshot"] == files and out["files"] == files
    assert out["tree"] == sorted([*files, "sub"])
    assert out["dataset"].startswith('{"model_type"')
    assert out["EntryNotFoundError"] and out["RepositoryNotFoundError"] and out["RevisionNotFoundError"]


def test_upload_roundtrip_and_no_empty_commit(served: tuple[str, str, Path], tmp_path: Path) -> None:
    url, _, src = served
    code = """
import json, os
from huggingface_hub import HfApi, hf_hub_download
api = HfApi(token="dev-token")
out = {}
out["url"] = str(api.create_repo("me/up", private=True))
out["again"] = str(api.create_repo("me/up", private=True, exist_ok=True))
c1 = api.upload_folder(folder_path=os.environ["SRC"], repo_id="me/up", commit_message="first")
c2 = api.upload_folder(folder_path=os.environ["SRC"], repo_id="me/up")
c3 = api.upload_file(path_or_fileobj=b"hello", path_in_repo="a/b.txt", repo_id="me/up")
out["oids"] = [c1.oid, c2.oid, c3.oid]
out["branches"] = [b.target_commit for b in api.list_repo_refs("me/up").branches]
out["files"] = api.list_repo_files("me/up")
out["read"] = open(hf_hub_download("me/up", "a/b.txt", token="dev-token")).read()
api.delete_file("a/b.txt", "me/up")
out["after_delete"] = api.list_repo_files("me/up")
try:
    HfApi(token=False).model_info("me/up")
    out["private_hidden"] = False
except Exception as e:
    out["private_hidden"] = type(e).__name__
print(json.dumps(out))
"""
    out = json.loads(run_client(code, url, env={"SRC": str(src)}).stdout.splitlines()[-1])
    assert out["url"] == out["again"] == f"{url}/me/up"
    c1, c2, c3 = out["oids"]
    assert c1 == c2 != c3  # the unchanged re-upload made no commit
    assert out["branches"] == [c3]
    assert out["read"] == "hello" and "a/b.txt" in out["files"]
    assert "a/b.txt" not in out["after_delete"] and "model.safetensors" in out["after_delete"]
    assert out["private_hidden"] == "RepositoryNotFoundError"


def test_space_deploy_endpoints(served: tuple[str, str, Path]) -> None:
    url, _, _ = served
    code = """
import json
from huggingface_hub import HfApi
api = HfApi(token="dev-token")
api.create_repo("me/app", repo_type="space", space_sdk="gradio")
api.upload_file(path_or_fileobj=b"import gradio", path_in_repo="app.py", repo_id="me/app", repo_type="space")
api.add_space_secret("me/app", "API_KEY", "s3cr3t-value")
api.add_space_variable("me/app", "MODEL", "acme/tiny")
print(json.dumps({"sdk": api.space_info("me/app").sdk,
                  "vars": {k: v.value for k, v in api.get_space_variables("me/app").items()}}))
"""
    out = json.loads(run_client(code, url).stdout.splitlines()[-1])
    assert out == {"sdk": "gradio", "vars": {"MODEL": "acme/tiny"}}
    import urllib.request

    body = urllib.request.urlopen(f"{url}/api/spaces/me/app/secrets").read()
    assert b"API_KEY" in body and b"s3cr3t-value" not in body


def test_hf_cli_download_and_upload(served: tuple[str, str, Path], tmp_path: Path) -> None:
    url, _, _ = served
    hf = shutil.which("hf", path=str(Path(sys.executable).parent))
    if hf is None:
        pytest.skip("the hf CLI is not installed")
    env = {
        **os.environ,
        "HF_ENDPOINT": url,
        "HF_HOME": str(tmp_path / "home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    env.pop("HF_TOKEN", None)
    proc = subprocess.run(
        [hf, "download", "acme/tiny", "--local-dir", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out" / "sub" / "notes.txt").read_text() == "nested\n"
    assert (tmp_path / "out" / "model.safetensors").stat().st_size == 300_000
    # `hf upload` creates the repo and commits the folder; `hf download` reads it back.
    up = subprocess.run(
        [hf, "upload", "me/cli-up", str(tmp_path / "out" / "sub"), "sub"],
        env={**env, "HF_TOKEN": "dev-token"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert up.returncode == 0, up.stderr[-2000:]
    down = subprocess.run(
        [hf, "download", "me/cli-up", "sub/notes.txt", "--local-dir", str(tmp_path / "back")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert down.returncode == 0 and (tmp_path / "back" / "sub" / "notes.txt").read_text() == "nested\n"


@pytest.mark.torch
@pytest.mark.slow
def test_diffusers_pipeline_from_mirror(tmp_path: Path) -> None:
    pytest.importorskip("diffusers")
    server = start_mirror(tmp_path / "store")
    # One subprocess generates the random-weight pipeline, publishes it into the served store, then
    # downloads and loads it through HF_ENDPOINT: torch and diffusers are imported once.
    code = """
import json, os, sys, torch
from diffusers import DDPMPipeline, DDPMScheduler, DiffusionPipeline, UNet2DModel
from huggingface_hub import snapshot_download
from gator_setup.mirror.ids import parse_repo_id
from gator_setup.mirror.store import Store, import_folder
torch.manual_seed(0)
unet = UNet2DModel(sample_size=8, in_channels=3, out_channels=3, layers_per_block=1,
                   block_out_channels=(4, 8), down_block_types=("DownBlock2D", "DownBlock2D"),
                   up_block_types=("UpBlock2D", "UpBlock2D"), norm_num_groups=2)
pipe_dir = os.environ["PIPE"]
DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=10)).save_pretrained(pipe_dir)
import_folder(Store(os.environ["STORE"]), pipe_dir, parse_repo_id("acme/tiny-ddpm"))
path = snapshot_download("acme/tiny-ddpm")
pipe = DiffusionPipeline.from_pretrained("acme/tiny-ddpm")
image = pipe(num_inference_steps=2, output_type="np").images[0]
print(json.dumps({"cls": type(pipe).__name__, "shape": list(image.shape),
                  "files": sorted(os.path.relpath(os.path.join(r, f), path)
                                  for r, _, fs in os.walk(path) for f in fs)}))
"""
    try:
        env = {"PIPE": str(tmp_path / "pipe"), "STORE": str(tmp_path / "store")}
        out = json.loads(run_client(code, server.url, timeout=300, env=env).stdout.splitlines()[-1])
    finally:
        server.stop()
    assert out["cls"] == "DDPMPipeline" and out["shape"] == [8, 8, 3]
    assert "unet/diffusion_pytorch_model.safetensors" in out["files"] and "model_index.json" in out["files"]
