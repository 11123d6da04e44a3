"""git over HTTP against a served mirror with Debian's git and git-lfs: clone, fetch, `git lfs pull`,
same ids as the API, same bytes as `hf download`, private and gated repos refused to the unauthorised."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mirror_server import import_repo, make_tiny_repo, run_client, start_mirror

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or subprocess.run(["git", "lfs", "version"], capture_output=True).returncode,
    reason="git and git-lfs are needed (.ci/run installs git-lfs with apt-get)",
)
TOKENS = """
hf_alice_write_0001  alice  write
hf_bob_write_000003  bob    write
"""
ALICE, BOB = "hf_alice_write_0001", "hf_bob_write_000003"
ATTRS = "*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    d = tmp_path_factory.mktemp("git")
    src = make_tiny_repo(d / "src", big=70_000)
    (src / ".gitattributes").write_text(ATTRS)
    (src / "sub" / "weights.bin").write_bytes(os.urandom(5000))
    store = d / "store"
    import_repo(store, src, "alice/pub")
    import_repo(store, src, "alice/priv", private=True)
    import_repo(store, src, "alice/gated")
    meta_path = store / "repos/models/alice/gated/repo.json"
    meta = json.loads(meta_path.read_text())
    meta.update(gated="manual", gated_users=["bob"])
    meta_path.write_text(json.dumps(meta))
    plain = make_tiny_repo(d / "plain", big=3000)  # no .gitattributes, as repos made with the API
    import_repo(store, plain, "alice/plain")
    (d / "tokens").write_text(TOKENS)
    home = d / "home"
    home.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "HF_"))},
        "HOME": str(home),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "NO_PROXY": "127.0.0.1",
    }
    subprocess.run(["git", "lfs", "install", "--skip-repo"], env=env, check=True, capture_output=True)
    server = start_mirror(store, tokens_file=d / "tokens")
    try:
        yield {"url": server.url, "src": src, "d": d, "env": env, "store": store}
    finally:
        server.stop()


def _git(
    served: dict[str, Any], *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, env={**served["env"], **env}, capture_output=True, text=True, timeout=120
    )


def _url(served: dict[str, Any], repo: str, token: str | None = None) -> str:
    url: str = served["url"]
    return url.replace("http://", f"http://user:{token}@") + f"/{repo}" if token else f"{url}/{repo}"


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] not in (".git", ".cache")
    }


def test_clone_then_lfs_pull_gives_hf_download_bytes_and_api_ids(served: dict[str, Any]) -> None:
    dest = served["d"] / "clone-pub"
    proc = _git(served, "clone", _url(served, "alice/pub"), str(dest), GIT_LFS_SKIP_SMUDGE="1")
    assert proc.returncode == 0, proc.stderr
    assert (dest / "model.safetensors").read_bytes().startswith(b"version https://git-lfs")
    pull = _git(served, "lfs", "pull", cwd=dest)
    assert pull.returncode == 0, pull.stderr
    code = """
import json, os
from huggingface_hub import HfApi, snapshot_download
api = HfApi()
info = api.model_info("alice/pub")
entries = api.list_repo_tree("alice/pub", recursive=True)
tree = {e.path: getattr(e, "blob_id", None) or e.tree_id for e in entries}
snap = snapshot_download("alice/pub", local_dir=os.environ["OUT"])
print(json.dumps({"sha": info.sha, "tree": tree, "snap": snap}))
"""
    out = json.loads(
        run_client(code, served["url"], env={"OUT": str(served["d"] / "hf")}).stdout.splitlines()[-1]
    )
    snap = Path(out["snap"])
    assert _files(dest) == _files(snap) == _files(served["src"])
    head = _git(served, "rev-parse", "HEAD", "HEAD:sub", cwd=dest).stdout.split()
    assert head == [out["sha"], out["tree"]["sub"]]
    ls = dict(line.split()[3:0:-2] for line in _git(served, "ls-files", "-s", cwd=dest).stdout.splitlines())
    assert ls == {p: oid for p, oid in out["tree"].items() if p != "sub"}
    assert _git(served, "status", "--porcelain", cwd=dest).stdout == ""


def test_clone_with_smudge_and_fetch_of_new_commits(served: dict[str, Any]) -> None:
    dest = served["d"] / "clone-smudge"
    proc = _git(served, "clone", _url(served, "alice/pub") + ".git", str(dest))
    assert proc.returncode == 0, proc.stderr
    assert (dest / "model.safetensors").read_bytes() == (served["src"] / "model.safetensors").read_bytes()
    code = """
from huggingface_hub import HfApi
api = HfApi()
api.upload_file(path_or_fileobj=b"v2", path_in_repo="new.txt", repo_id="alice/pub", commit_message="second")
api.create_tag("alice/pub", tag="v2")
print(api.model_info("alice/pub").sha)
"""
    sha = run_client(code, served["url"], token=ALICE).stdout.split()[-1]
    fetch = _git(served, "fetch", "--tags", cwd=dest)
    assert fetch.returncode == 0, fetch.stderr
    assert _git(served, "rev-parse", "origin/main", "v2^{commit}", cwd=dest).stdout.split() == [sha, sha]
    assert _git(served, "show", "origin/main:new.txt", cwd=dest).stdout == "v2"


def test_repo_without_gitattributes_still_gets_its_bytes(served: dict[str, Any]) -> None:
    dest = served["d"] / "clone-plain"
    assert (
        _git(served, "clone", _url(served, "alice/plain"), str(dest), GIT_LFS_SKIP_SMUDGE="1").returncode == 0
    )
    assert _git(served, "lfs", "pull", cwd=dest).returncode == 0
    assert (dest / "model.safetensors").read_bytes() == (
        served["d"] / "plain" / "model.safetensors"
    ).read_bytes()


@pytest.mark.parametrize(
    ("repo", "token", "ok"),
    [
        ("alice/priv", None, False),
        ("alice/priv", BOB, False),
        ("alice/priv", "not-a-known-token", False),
        ("alice/priv", ALICE, True),
        ("alice/gated", None, False),
        ("alice/gated", BOB, True),
    ],
)
def test_private_and_gated_clones_need_access(
    served: dict[str, Any], repo: str, token: str | None, ok: bool
) -> None:
    dest = served["d"] / f"clone-{repo.replace('/', '-')}-{token}"
    proc = _git(served, "clone", _url(served, repo, token), str(dest))
    assert (proc.returncode == 0) is ok, proc.stderr
    if ok:
        assert (dest / "model.safetensors").read_bytes() == (served["src"] / "model.safetensors").read_bytes()
    else:
        assert not dest.exists() or not (dest / "config.json").exists()


def _post(url: str, body: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/vnd.git-lfs+json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, None


def test_lfs_batch_serves_only_this_repos_objects_with_signed_urls(served: dict[str, Any]) -> None:
    url = served["url"]
    store = served["store"]

    def lfs_oid(repo: str) -> str:
        d = store / "repos/models" / repo
        head = json.loads((d / "refs.json").read_text())["branches"]["main"]
        files = json.loads((d / "commits" / f"{head}.json").read_text())["files"]
        return str(files["model.safetensors"]["sha256"])

    oid, other = lfs_oid("alice/pub"), lfs_oid("alice/plain")
    batch = {"operation": "download", "transfers": ["basic"], "objects": [{"oid": oid}, {"oid": other}]}
    status, body = _post(f"{url}/alice/pub.git/info/lfs/objects/batch", batch)
    assert status == 200
    first, second = body["objects"]
    assert second["error"]["code"] == 404  # stored, but not part of this repo's history
    href = first["actions"]["download"]["href"]
    with urllib.request.urlopen(href) as r:
        data = r.read()
    assert hashlib.sha256(data).hexdigest() == oid and len(data) == first["size"]
    for forged in (href.replace("sig=", "sig=0"), href.replace("sig=", "sig=%C3%A9"), href.split("?")[0]):
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(forged)
        assert bad.value.code == 403
    assert _post(f"{url}/alice/priv.git/info/lfs/objects/batch", batch)[0] == 401
    assert _post(f"{url}/alice/priv.git/info/lfs/objects/batch", batch, BOB)[0] == 404
    assert _post(f"{url}/alice/priv.git/info/lfs/objects/batch", batch, ALICE)[0] == 200


def test_push_and_malformed_requests_are_refused(served: dict[str, Any]) -> None:
    req = urllib.request.Request(f"{served['url']}/alice/pub/info/refs?service=git-receive-pack")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 403
    junk = urllib.request.Request(f"{served['url']}/alice/pub/git-upload-pack", data=b"junk", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(junk)
    assert err.value.code == 400 and "Bad git request" in err.value.headers["X-Error-Message"]
    for body, code in ((gzip.compress(b"0000"), 200), (gzip.compress(bytes(80 * 1024 * 1024)), 413)):
        req = urllib.request.Request(f"{served['url']}/alice/pub/git-upload-pack", data=body, method="POST")
        req.add_header("Content-Encoding", "gzip")
        try:
            with urllib.request.urlopen(req) as r:
                assert r.status == code
        except urllib.error.HTTPError as e:
            assert e.code == code


def test_too_large_for_git_is_a_clear_refusal(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gator_setup.mirror import gitserve

    big = make_tiny_repo(served["d"] / "big", big=100)
    (big / "data.csv").write_text("a,b\n" * 1000)
    import_repo(served["store"], big, "alice/big")
    monkeypatch.setattr(gitserve, "MAX_GIT_BYTES", 1000)
    proc = _git(served, "clone", _url(served, "alice/big"), str(served["d"] / "clone-big"))
    assert proc.returncode != 0
    req = urllib.request.Request(f"{served['url']}/alice/big/info/refs?service=git-upload-pack")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 413 and "use hf download" in err.value.headers["X-Error-Message"]


def test_dataset_repos_clone_too(served: dict[str, Any]) -> None:
    import_repo(served["store"], served["src"], "alice/ds", repo_type="dataset")
    dest = served["d"] / "clone-ds"
    proc = _git(served, "clone", _url(served, "datasets/alice/ds"), str(dest))
    assert proc.returncode == 0, proc.stderr
    assert (dest / "sub" / "weights.bin").read_bytes() == (served["src"] / "sub" / "weights.bin").read_bytes()
