"""Run the same downloads and uploads with several huggingface_hub releases against a gator mirror.

Each release gets its own uv venv under .venvs/hub-<version>/ (reused between runs). The mirror runs
in this process on 127.0.0.1 and serves a small generated repo; each client runs in its venv with
HF_ENDPOINT set. Prints a Markdown table (and JSON with --json).

    python tools/hub_compat_matrix.py                     # default versions
    python tools/hub_compat_matrix.py 0.20.3 1.29.0 --json
    python tools/hub_compat_matrix.py --pull-through       # through a caching gator (local upstream)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from mirror_server import import_repo, make_tiny_repo, start_mirror  # noqa: E402

DEFAULT_VERSIONS = ["0.20.3", "0.26.5", "0.36.2", "1.0.0", "1.29.0", "1.30.0", "latest"]

CLIENT = r"""
import json, os, sys
import huggingface_hub as h
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
res = {"version": h.__version__}
def step(name, fn):
    try:
        res[name] = "ok" if fn() else "wrong"
    except Exception as e:
        res[name] = f"FAIL {type(e).__name__}: {str(e).splitlines()[0][:120]}"
src = os.environ["SRC"]
same = lambda p, f: open(p, "rb").read() == open(os.path.join(src, f), "rb").read()
step("hf_hub_download", lambda: same(hf_hub_download("acme/tiny", "model.safetensors"), "model.safetensors")
     and same(hf_hub_download("acme/tiny", "sub/notes.txt"), "sub/notes.txt"))
def snap():
    s = snapshot_download("acme/tiny")
    got = sorted(os.path.relpath(os.path.join(r, f), s) for r, _, fs in os.walk(s) for f in fs)
    return got == ["README.md", "config.json", "model.safetensors", "sub/notes.txt"]
step("snapshot_download", snap)
api = HfApi(token="dev-token")
step("model_info", lambda: api.model_info("acme/tiny").sha == os.environ["COMMIT"])
step("list_repo_files", lambda: "sub/notes.txt" in api.list_repo_files("acme/tiny"))
def missing():
    try:
        hf_hub_download("acme/tiny", "nope.json")
    except Exception as e:
        return "EntryNotFound" in type(e).__name__
step("entry_not_found", missing)
def upload():
    api.create_repo("me/up-" + res["version"].replace(".", "-"), exist_ok=True)
    rid = "me/up-" + res["version"].replace(".", "-")
    api.create_repo(rid, exist_ok=True)
    api.upload_folder(folder_path=src, repo_id=rid)
    return same(hf_hub_download(rid, "config.json", revision="main"), "config.json")
step("create_repo+upload_folder", upload)
step("list_models(author=)", lambda: [m.id for m in api.list_models(author="acme")] == ["acme/tiny"])
def history():
    rid = "me/hist-" + res["version"].replace(".", "-")
    api.create_repo(rid, exist_ok=True)
    api.upload_file(path_or_fileobj=b"v1", path_in_repo="t.txt", repo_id=rid)
    api.create_tag(rid, tag="v1", revision=api.list_repo_commits(rid)[0].commit_id)
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="t.txt", repo_id=rid)
    refs = api.list_repo_refs(rid, include_pull_requests=True)
    return (open(hf_hub_download(rid, "t.txt", revision="v1")).read() == "v1"
            and len(api.list_repo_commits(rid)) == 3
            and [t.name for t in refs.tags] == ["v1"] and refs.pull_requests == [])
step("commits+tag+refs", history)
print("RESULT " + json.dumps(res))
"""


def venv_python(version: str) -> Path:
    """A venv with that huggingface_hub release (created on first use)."""
    vdir = ROOT / ".venvs" / f"hub-{version}"
    py = vdir / "bin" / "python"
    if not py.exists():
        subprocess.run(["uv", "venv", "-q", str(vdir), "--python", "3.11"], check=True)
        spec = "huggingface_hub" if version == "latest" else f"huggingface_hub=={version}"
        subprocess.run(["uv", "pip", "install", "-q", "--python", str(py), spec], check=True)
    return py


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("versions", nargs="*", default=DEFAULT_VERSIONS)
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--pull-through", action="store_true", help="clients use a caching gator in front of the serving one"
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hub-compat-"))
    src = make_tiny_repo(work / "src")
    commit = import_repo(work / "store", src, "acme/tiny")
    origin = start_mirror(work / "store")
    server = start_mirror(work / "cache", upstream=origin.url) if args.pull_through else origin
    rows = []
    try:
        for version in args.versions:
            py = venv_python(version)
            env = {
                **os.environ,
                "HF_ENDPOINT": server.url,
                "HF_HOME": str(work / f"home-{version}"),
                "HF_HUB_DISABLE_TELEMETRY": "1",
                "SRC": str(src),
                "COMMIT": commit,
            }
            env.pop("HF_TOKEN", None)
            proc = subprocess.run(
                [str(py), "-c", CLIENT], env=env, capture_output=True, text=True, timeout=600
            )
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            row = json.loads(line[7:]) if line else {"version": version, "error": proc.stderr[-300:]}
            row["requested"] = version
            rows.append(row)
    finally:
        server.stop()
        if server is not origin:
            origin.stop()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    cols = [k for k in rows[0] if k not in ("version", "requested")] if rows else []
    print("| huggingface_hub | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for r in rows:
        print(
            f"| {r.get('version', r['requested'])} | " + " | ".join(str(r.get(c, "?")) for c in cols) + " |"
        )
    return 0 if all(all(r.get(c) == "ok" for c in cols) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
