"""The Hub API beyond downloads with the real huggingface_hub client: listings (author, search, sort,
pagination, private visibility), commit history, tags as revisions, refs, auth-check, move, duplicate,
super-squash, card data."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mirror_server import import_repo, make_tiny_repo, run_client, start_mirror

from gator_setup.mirror.ids import parse_repo_id
from gator_setup.mirror.store import Store

TOKENS = """
hf_alice_write_0001  alice  write
hf_bob_write_000003  bob    write
hf_carol_read_00004  carol  read
org lab alice:admin bob:write
"""
ALICE, BOB, CAROL = "hf_alice_write_0001", "hf_bob_write_000003", "hf_carol_read_00004"
CARD = """---
license: apache-2.0
library_name: diffusers
pipeline_tag: text-to-image
tags:
- tiny
- gator-test
datasets:
- acme/pixels
language: en
date: 2024-01-02
---
# A tiny card
"""


def _json(proc: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    d = tmp_path_factory.mktemp("hubapi")
    src = make_tiny_repo(d / "src", big=1000)
    carded = make_tiny_repo(d / "carded", big=1000)
    (carded / "README.md").write_text(CARD)
    store = d / "store"
    import_repo(store, carded, "alice/pub-a")
    import_repo(store, src, "alice/zz-priv", private=True)
    import_repo(store, src, "lab/secret", private=True)
    import_repo(store, src, "bob/thing")
    import_repo(store, src, "bob/other-a")
    import_repo(store, src, "alice/data1", repo_type="dataset")
    import_repo(store, src, "bob/space1", repo_type="space")
    dcard = make_tiny_repo(d / "dcard", big=10)
    (dcard / "README.md").write_text(
        "---\nlicense: mit\ntask_categories:\n- text-classification\n---\nrows\n"
    )
    import_repo(store, dcard, "bob/carded-set", repo_type="dataset")
    (d / "tokens").write_text(TOKENS)
    server = start_mirror(store, tokens_file=d / "tokens", list_page_size=2)
    try:
        yield server.url
    finally:
        server.stop()


LIST = """
import json, os
from huggingface_hub import HfApi
api = HfApi()
out = {
  "alice": [m.id for m in api.list_models(author="alice")],
  "all": [m.id for m in api.list_models()],
  "search": [m.id for m in api.list_models(search="-A")],
  "limit": [m.id for m in api.list_models(limit=3)],
  "datasets": [d.id for d in api.list_datasets()],
  "spaces": [s.id for s in api.list_spaces(author="bob")],
  "filter": [m.id for m in api.list_models(filter="license:apache-2.0")],
  "card": [m.card_data.get("license") if m.card_data else None
           for m in api.list_models(author="alice", cardData=True)],
}
print(json.dumps(out))
"""


@pytest.mark.parametrize(
    ("token", "visible"),
    [
        (None, ["alice/pub-a", "bob/other-a", "bob/thing"]),
        (ALICE, ["alice/pub-a", "alice/zz-priv", "bob/other-a", "bob/thing", "lab/secret"]),
        (BOB, ["alice/pub-a", "bob/other-a", "bob/thing", "lab/secret"]),
        (CAROL, ["alice/pub-a", "bob/other-a", "bob/thing"]),
    ],
)
def test_listings_follow_pages_and_hide_private(hub: str, token: str | None, visible: list[str]) -> None:
    out = _json(run_client(LIST, hub, token=token))
    # list_page_size=2: every listing above two repos came in pages the client followed by Link.
    assert out["all"] == visible
    assert out["alice"] == [v for v in visible if v.startswith("alice/")]
    assert out["search"] == [v for v in visible if "-a" in v]
    assert out["limit"] == visible[:3]
    assert out["datasets"] == ["alice/data1", "bob/carded-set"]
    assert out["spaces"] == ["bob/space1"]
    assert out["filter"] == ["alice/pub-a"]
    assert out["card"][0] == "apache-2.0"


def test_hf_models_ls_author(hub: str) -> None:
    home = tempfile.mkdtemp(prefix="hf-home-")
    env = {**os.environ, "HF_ENDPOINT": hub, "HF_HOME": home, "NO_PROXY": "127.0.0.1", "NO_COLOR": "1"}
    env.pop("HF_TOKEN", None)
    proc = subprocess.run(
        ["hf", "models", "ls", "--author", "bob", "--format", "json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ids = [m["id"] for m in json.loads(proc.stdout)]
    assert ids == ["bob/other-a", "bob/thing"]


def test_model_info_card_data_and_tags(hub: str) -> None:
    code = """
import json
from huggingface_hub import HfApi
info = HfApi().model_info("alice/pub-a")
ds = HfApi().dataset_info("bob/carded-set")
print(json.dumps({"card": info.card_data.to_dict(), "tags": info.tags, "lib": info.library_name,
                  "pipe": info.pipeline_tag, "ds": [ds.card_data.to_dict().get("license"), ds.tags]}))
"""
    out = _json(run_client(code, hub))
    assert out["card"]["license"] == "apache-2.0" and out["card"]["date"] == "2024-01-02"
    assert out["tags"][:2] == ["tiny", "gator-test"]
    derived = {"diffusers", "text-to-image", "dataset:acme/pixels", "en", "license:apache-2.0"}
    assert derived <= set(out["tags"])
    assert out["lib"] == "diffusers" and out["pipe"] == "text-to-image"
    assert out["ds"] == ["mit", ["task_categories:text-classification", "license:mit"]]


HISTORY = """
import json
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import RevisionNotFoundError, RepositoryNotFoundError, HfHubHTTPError
api = HfApi()
out = {}
api.create_repo("alice/hist")
c = [api.upload_file(path_or_fileobj=f"v{i}".encode(), path_in_repo="f.txt", repo_id="alice/hist",
                     commit_message=f"edit {i}", commit_description=f"body {i}").oid for i in range(3)]
commits = api.list_repo_commits("alice/hist")
out["commits"] = [(x.commit_id, x.title, x.message, x.authors) for x in commits]
out["c"] = c
api.create_tag("alice/hist", tag="v1", revision=c[0])
out["by_tag"] = open(hf_hub_download("alice/hist", "f.txt", revision="v1")).read()
out["info_tag"] = api.model_info("alice/hist", revision="v1").sha
out["tree_tag"] = [e.path for e in api.list_repo_tree("alice/hist", revision="v1")]
out["commits_tag"] = [x.commit_id for x in api.list_repo_commits("alice/hist", revision="v1")]
out["short"] = [api.model_info("alice/hist", revision=c[1][:7]).sha,
                open(hf_hub_download("alice/hist", "f.txt", revision=c[1][:10])).read()]
try:
    api.model_info("alice/hist", revision=c[1][:6])
    out["too_short"] = "accepted"
except RevisionNotFoundError:
    out["too_short"] = "404"
try:
    api.create_tag("alice/hist", tag="v1", revision=c[1])
    out["dup_tag"] = "accepted"
except HfHubHTTPError as e:
    out["dup_tag"] = e.response.status_code
api.create_tag("alice/hist", tag="v1", revision=c[1], exist_ok=True)
refs = api.list_repo_refs("alice/hist", include_pull_requests=True)
out["refs"] = {"tags": [(t.name, t.target_commit) for t in refs.tags],
               "branches": [(b.name, b.target_commit) for b in refs.branches], "prs": refs.pull_requests}
api.create_branch("alice/hist", branch="dev", revision="v1")
out["dev"] = open(hf_hub_download("alice/hist", "f.txt", revision="dev")).read()
api.delete_tag("alice/hist", tag="v1")
try:
    hf_hub_download("alice/hist", "f.txt", revision="v1", force_download=True)
    out["deleted"] = False
except RevisionNotFoundError:
    out["deleted"] = True
api.super_squash_history("alice/hist", commit_message="squashed")
sq = api.list_repo_commits("alice/hist")
out["squashed"] = [(x.title, x.commit_id) for x in sq]
out["after_squash"] = open(hf_hub_download("alice/hist", "f.txt", force_download=True)).read()
out["old_commit"] = open(hf_hub_download("alice/hist", "f.txt", revision=c[0])).read()
print(json.dumps(out))
"""


def test_history_tags_refs_and_squash(hub: str) -> None:
    out = _json(run_client(HISTORY, hub, token=ALICE))
    c = out["c"]
    # Newest first, the initial commit last; pages of two (list_page_size=2) were followed.
    assert [x[0] for x in out["commits"]][:3] == c[::-1]
    assert len(out["commits"]) == 4 and out["commits"][-1][1] == "initial commit"
    assert out["commits"][0][1:] == ["edit 2", "body 2", ["alice"]]
    assert out["by_tag"] == "v0" and out["info_tag"] == c[0] and out["tree_tag"] == ["f.txt"]
    assert out["commits_tag"][0] == c[0] and len(out["commits_tag"]) == 2
    assert out["short"] == [c[1], "v1"] and out["too_short"] == "404"  # unique prefixes of 7+ characters
    assert out["dup_tag"] == 409
    assert out["refs"]["tags"] == [["v1", c[0]]]
    assert out["refs"]["branches"] == [["main", c[2]]] and out["refs"]["prs"] == []
    assert out["dev"] == "v0" and out["deleted"] is True
    assert [t for t, _ in out["squashed"]] == ["squashed"]
    assert out["after_squash"] == "v2" and out["old_commit"] == "v0"


ADMIN = """
import json, os
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
tok = {k: os.environ[k] for k in ("ALICE", "BOB", "CAROL")}
out = {}
def status(fn):
    try:
        fn()
        return 200
    except HfHubHTTPError as e:
        return e.response.status_code
for who in ("ALICE", "BOB", "CAROL"):
    api = HfApi(token=tok[who])
    out[who] = [status(lambda: api.auth_check("alice/zz-priv")),
                status(lambda: api.auth_check("alice/pub-a")),
                status(lambda: api.auth_check("alice/pub-a", write=True)),
                status(lambda: api.auth_check("lab/secret", write=True))]
out["anon"] = status(lambda: HfApi(token=False).auth_check("alice/zz-priv"))
alice, bob = HfApi(token=tok["ALICE"]), HfApi(token=tok["BOB"])
out["move_foreign"] = status(lambda: bob.move_repo("alice/pub-a", "bob/pub-a"))
out["move_org_writer"] = status(lambda: bob.move_repo("lab/secret", "bob/secret"))
alice.create_repo("alice/mv")
alice.upload_file(path_or_fileobj=b"moved", path_in_repo="m.txt", repo_id="alice/mv")
out["move_exists"] = status(lambda: alice.move_repo("alice/mv", "alice/pub-a"))
alice.move_repo("alice/mv", "lab/mv2")
out["moved"] = open(hf_hub_download("lab/mv2", "m.txt", token=tok["ALICE"])).read()
out["old_gone"] = status(lambda: alice.model_info("alice/mv"))
url = bob.duplicate_repo("alice/pub-a", "bob/copy")
out["dup_url"] = str(url)
out["dup_files"] = sorted(bob.list_repo_files("bob/copy"))
out["dup_card"] = bob.model_info("bob/copy").card_data.get("license")
out["dup_again"] = str(bob.duplicate_repo("alice/pub-a", "bob/copy", exist_ok=True))
out["dup_private_src"] = status(lambda: bob.duplicate_repo("alice/zz-priv", "bob/stolen"))
out["dup_foreign_ns"] = status(lambda: bob.duplicate_repo("alice/pub-a", "alice/copy2"))
print(json.dumps(out))
"""


def test_auth_check_move_duplicate(hub: str) -> None:
    env = {"ALICE": ALICE, "BOB": BOB, "CAROL": CAROL}
    out = _json(run_client(ADMIN, hub, env=env))
    assert out["ALICE"] == [200, 200, 200, 200]
    assert out["BOB"] == [404, 200, 403, 200]  # bob writes to org lab
    assert out["CAROL"] == [404, 200, 403, 403]
    assert out["anon"] == 401
    assert out["move_foreign"] == 403 and out["move_exists"] == 409
    assert out["move_org_writer"] == 403  # moving takes the admin role, write is not enough
    assert out["moved"] == "moved" and out["old_gone"] == 404
    assert out["dup_url"] == f"{hub}/bob/copy" and out["dup_again"] == f"{hub}/bob/copy"
    assert out["dup_files"] == ["README.md", "config.json", "model.safetensors", "sub/notes.txt"]
    assert out["dup_card"] == "apache-2.0"
    assert out["dup_private_src"] == 404 and out["dup_foreign_ns"] == 403


WEB = """
import json, os, urllib.request, urllib.error
from huggingface_hub import HfApi
api = HfApi()
out = {}
api.create_repo("alice/web")
c1 = api.upload_file(path_or_fileobj=b"one", path_in_repo="a/one.txt", repo_id="alice/web",
                     commit_message="add one")
c2 = api.upload_file(path_or_fileobj=b"\\0" * 100, path_in_repo="w.safetensors", repo_id="alice/web",
                     commit_message="add weights")
class R:
    def __init__(self, url, token=True):
        req = urllib.request.Request(url)
        if token:
            req.add_header("Authorization", "Bearer " + os.environ["HF_TOKEN"])
        try:
            with urllib.request.urlopen(req) as r:
                self.status_code, self.text, self.headers = r.status, r.read().decode(), r.headers
        except urllib.error.HTTPError as e:
            self.status_code, self.text, self.headers = e.code, "", e.headers
get = R
page = get(str(c2))
out["commit_page"] = [page.status_code, "w.safetensors" in page.text, c1.oid in page.text]
out["commit_url"] = str(c2)
raw = get(f"{api.endpoint}/alice/web/raw/main/a/one.txt")
out["raw"] = [raw.status_code, raw.text, raw.headers.get("X-Repo-Commit")]
out["raw_lfs"] = get(f"{api.endpoint}/alice/web/raw/{c2.oid}/w.safetensors").text
blob = get(f"{api.endpoint}/alice/web/blob/main/a/one.txt")
out["blob"] = [blob.status_code, "a/one.txt" in blob.text]
out["anon_raw"] = R(f"{api.endpoint}/alice/zz-priv/raw/main/config.json", token=False).status_code
entries = api.list_repo_tree("alice/web", recursive=True, expand=True)
out["tree"] = {e.path: e.last_commit.oid for e in entries}
out["info"] = {e.path: e.last_commit.title for e in api.get_paths_info("alice/web", ["a", "w.safetensors"],
                                                                       expand=True)}
out["c"] = [c1.oid, c2.oid]
print(json.dumps(out))
"""


def test_web_urls_and_last_commit(hub: str) -> None:
    out = _json(run_client(WEB, hub, token=ALICE))
    c1, c2 = out["c"]
    assert out["commit_url"] == f"{hub}/alice/web/commit/{c2}"
    assert out["commit_page"] == [200, True, True]  # the changed file, and the parent linked
    assert out["raw"] == [200, "one", c2]
    assert out["raw_lfs"].startswith("version https://git-lfs.github.com/spec/v1\noid sha256:")
    assert out["blob"] == [200, True]
    assert out["anon_raw"] == 401
    assert out["tree"] == {"a": c1, "a/one.txt": c1, "w.safetensors": c2}
    assert out["info"] == {"a": "add one", "w.safetensors": "add weights"}


def test_short_commit_ids_resolve_only_when_unique(tmp_path: Path) -> None:
    store = Store(tmp_path)
    ref = parse_repo_id("acme/short")
    store.create_repo(ref)
    for sha in ("abcdef1" + "0" * 33, "abcdef1" + "9" * 33):
        store.put_commit(ref, {"id": sha, "parents": [], "files": {}, "message": "m", "time": ""})
    assert store.resolve(ref, "abcdef1") is None  # two commits share it
    assert store.resolve(ref, "abcdef10") == "abcdef1" + "0" * 33
    assert store.resolve(ref, "abcdef") is None  # shorter than 7
    assert store.resolve(ref, "abcdef2") is None


def test_hf_repos_ls_lists_own_and_org_repos_with_storage(hub: str) -> None:
    def hf(*args: str, token: str) -> subprocess.CompletedProcess[str]:
        home = tempfile.mkdtemp(prefix="hf-home-")
        env = {**os.environ, "HF_ENDPOINT": hub, "HF_HOME": home, "HF_TOKEN": token, "NO_COLOR": "1"}
        return subprocess.run(
            ["hf", "repos", "ls", *args], env=env, capture_output=True, text=True, timeout=120
        )

    code = """
import json
from huggingface_hub import HfApi
api = HfApi()
print(json.dumps([[r.id, r.type, r.visibility, r.storage] for r in api.list_user_repos()]
                 + [[r.id, r.type, r.visibility, r.storage] for r in api.list_user_repos(namespace="lab")]))
"""
    rows = _json(run_client(code, hub, token=BOB))
    # bob's own repos (pages of two were followed), then org lab's (other tests may have added some).
    expected = [
        ["bob/other-a", "model", "public"],
        ["bob/thing", "model", "public"],
        ["bob/carded-set", "dataset", "public"],
        ["bob/space1", "space", "public"],
        ["lab/secret", "model", "private"],
    ]
    assert all(e in [r[:3] for r in rows] for e in expected)
    owners = [r[0].split("/")[0] for r in rows]
    assert owners == sorted(owners) and set(owners) == {"bob", "lab"}
    assert all(r[3] > 0 for r in rows)  # stored bytes of each repo's blobs
    cli = hf(token=BOB)
    assert cli.returncode == 0 and "bob/thing" in cli.stdout, cli.stderr
    outsider = hf("--namespace", "lab", token=CAROL)
    assert outsider.returncode != 0 and "403" in outsider.stderr + outsider.stdout
