"""Build tiny wheels and installed trees for offline tests of the builder and --what-if."""

from __future__ import annotations

import zipfile
from pathlib import Path

# The import line is the real one of diffusers <= 0.28 (utils/dynamic_modules_utils.py:28).
HUB_INIT_OLD = "from .file_download import cached_download, hf_hub_download\nfrom .hf_api import model_info\n"
HUB_INIT_NEW = "from .file_download import hf_hub_download\nfrom .hf_api import model_info\n"
DIFFUSERS_OLD = {
    "diffusers/__init__.py": "from . import utils\n",
    "diffusers/utils/__init__.py": "from .dynamic_modules_utils import get_class_from_dynamic_module\n",
    "diffusers/utils/dynamic_modules_utils.py": "import json\n"
    * 27
    + "from huggingface_hub import cached_download, hf_hub_download, model_info\n"
    "def get_class_from_dynamic_module(): pass\n",
    "diffusers/utils/testing_utils.py": (
        "try:\n    from huggingface_hub import gone_name\nexcept ImportError:\n    pass\n"
    ),
    "diffusers/examples/train.py": "from huggingface_hub import also_gone\n",
}
DIFFUSERS_NEW = {
    **{k: v for k, v in DIFFUSERS_OLD.items() if "dynamic" not in k},
    "diffusers/utils/__init__.py": "\n",
}


def hub_files(version: str) -> dict[str, str]:
    old = version < "0.26"
    return {
        "huggingface_hub/__init__.py": HUB_INIT_OLD if old else HUB_INIT_NEW,
        "huggingface_hub/file_download.py": "def hf_hub_download(): pass\n"
        + ("def cached_download(): pass\n" if old else ""),
        "huggingface_hub/hf_api.py": "def model_info(): pass\n",
    }


def _metadata(dist: str, version: str, requires: str) -> str:
    meta = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
    return meta + (f"Requires-Dist: {requires}\n" if requires else "")


def wheel(folder: Path, dist: str, version: str, files: dict[str, str], requires: str = "") -> Path:
    """A wheel `dist-version-py3-none-any.whl` holding `files` and a METADATA."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr(f"{dist}-{version}.dist-info/METADATA", _metadata(dist, version, requires))
    return path


def install(site: Path, dist: str, version: str, files: dict[str, str], requires: str = "") -> Path:
    """Lay `files` out in `site` as an installed distribution (dist-info with METADATA and RECORD)."""
    info = site / f"{dist}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    (info / "METADATA").write_text(_metadata(dist, version, requires))
    (info / "RECORD").write_text("".join(f"{n},,\n" for n in files) + f"{info.name}/METADATA,,\n")
    return info
