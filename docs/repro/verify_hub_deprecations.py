"""Reproduction behind gator_setup/knowledge/deprecations.toml (run with one hub version installed).

uv venv -q --python python3.11 hV && uv pip install -q --python hV/bin/python huggingface_hub==V
hV/bin/python docs/repro/verify_hub_deprecations.py   # prints one JSON line of verdicts
"""

import json
import os
import tempfile
import warnings

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp()
import huggingface_hub as h

out = {"version": h.__version__}
for sym in [
    "cached_download",
    "Repository",
    "HfFolder",
    "InferenceApi",
    "ModelFilter",
    "list_files_info",
    "configure_http_backend",
    "get_token_permission",
    "update_repo_visibility",
    "upload_large_folder",
]:
    try:
        exec(f"from huggingface_hub import {sym}")
        out[sym] = "ok"
    except ImportError:
        out[sym] = "ImportError"
for sym in ["url_to_filename", "filename_to_url"]:
    try:
        exec(f"from huggingface_hub.file_download import {sym}")
        out["file_download." + sym] = "ok"
    except ImportError:
        out["file_download." + sym] = "ImportError"
for kw, val in [
    ("use_auth_token", "x"),
    ("resume_download", True),
    ("force_filename", "a"),
    ("local_dir_use_symlinks", "auto"),
    ("legacy_cache_layout", False),
]:
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            h.hf_hub_download(repo_id="a/b", filename="c.txt", **{kw: val})
            res = "no error"
        except TypeError:
            res = "TypeError"
        except Exception as e:
            res = "accepted (" + type(e).__name__ + ")"
        msgs = [
            str(x.category.__name__)
            for x in w
            if kw in str(x.message) or "deprecat" in str(x.message).lower()
        ]
    out["hf_hub_download(" + kw + ")"] = res + (" +warning" if msgs else "")
print(json.dumps(out))
