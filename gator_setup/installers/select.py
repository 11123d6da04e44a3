"""Pick the files a runtime really loads from a repo listing (no ONNX/Flax/OpenVINO/duplicate formats)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gator_setup.installers.errors import InstallError

#: Weight formats that PyTorch runtimes never load (other frameworks, exports, original checkpoints).
FOREIGN_WEIGHTS = (
    "*.onnx",
    "*.onnx_data",
    "*.onnx.data",
    "*openvino*",
    "*.msgpack",
    "*.h5",
    "*.ckpt",
    "*.pb",
    "*.tflite",
    "*.gguf",
    "*.mlmodel",
    "*.mlpackage/*",
)
_SHARD_RE = re.compile(r"^(?P<stem>.+?)-\d{5}-of-\d{5}(?P<variant>\.[\w]+)?\.(?P<ext>safetensors|bin)$")
_WEIGHT_EXT = (".safetensors", ".bin", ".pt", ".pth")
#: Small files a component folder needs besides weights (configs, tokenizers, processors).
_SIDE_FILES = (
    "*.json",
    "*.txt",
    "*.model",
    "*.tiktoken",
    "*.jinja",
    "*.py",
)


def _matches(path: str, patterns: Iterable[str]) -> bool:
    return any(
        fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], p) for p in patterns
    )


def _is_weight(name: str) -> bool:
    return name.endswith(_WEIGHT_EXT)


def _weight_key(name: str) -> tuple[str, str | None, str] | None:
    """`diffusion_pytorch_model.fp16.safetensors` -> ("diffusion_pytorch_model", "fp16", "safetensors")."""
    m = _SHARD_RE.match(name)
    if m:
        variant = m.group("variant")
        return m.group("stem"), variant[1:] if variant else None, m.group("ext")
    for ext in ("safetensors", "bin"):
        if name.endswith("." + ext):
            base = name[: -len(ext) - 1]
            if "." in base:
                stem, variant = base.rsplit(".", 1)
                return stem, variant, ext
            return base, None, ext
    return None


def select_weights(names: Iterable[str], variant: str | None) -> list[str]:
    """Within one folder: the requested variant (else the plain weights), safetensors over bin.

    Mirrors diffusers/transformers loading: a component without the variant falls back to its
    non-variant weights; `.bin` is used only where no safetensors of that choice exists.
    """
    keyed = [(n, _weight_key(n)) for n in names]
    weights = [(n, k) for n, k in keyed if k is not None]
    if not weights:
        return []
    variants = {k[1] for _, k in weights}
    chosen_variant = variant if variant in variants else None
    for ext in ("safetensors", "bin"):
        picked = [n for n, k in weights if k[1] == chosen_variant and k[2] == ext]
        if picked:
            return sorted(picked)
    return []


def _index_files(names: Iterable[str], picked: list[str]) -> list[str]:
    """Shard index json files that go with the picked shards (`*.safetensors.index[.variant].json`)."""
    out = []
    for n in names:
        if ".index" in n and n.endswith(".json"):
            stem = n.split(".index")[0]
            variant = n[len(stem) + len(".index") : -len(".json")].strip(".") or None
            for p in picked:
                k = _weight_key(p)
                if k and stem.startswith(k[0]) and stem.endswith(k[2]) and (k[1] or None) == variant:
                    out.append(n)
                    break
    return out


def _by_folder(paths: Iterable[str]) -> dict[str, list[str]]:
    folders: dict[str, list[str]] = {}
    for p in paths:
        folder, _, name = p.rpartition("/")
        folders.setdefault(folder, []).append(name)
    return folders


def _select_folder(folder: str, names: list[str], variant: str | None, exclude: Iterable[str]) -> list[str]:
    prefix = f"{folder}/" if folder else ""
    names = [n for n in names if not _matches(prefix + n, (*FOREIGN_WEIGHTS, *exclude))]
    picked = select_weights(names, variant)
    side = [
        n
        for n in names
        if not _is_weight(n) and _matches(n, _SIDE_FILES) and ".index" not in n and not n.startswith(".")
    ]
    return sorted(prefix + n for n in (*side, *picked, *_index_files(names, picked)))


def select_diffusers(
    files: Iterable[str], model_index: Mapping[str, Any], variant: str | None, exclude: Iterable[str] = ()
) -> list[str]:
    """model_index.json plus, for each pipeline component, its configs and the chosen weights."""
    components = [
        k
        for k, v in model_index.items()
        if not k.startswith("_") and isinstance(v, list) and len(v) == 2 and v[0] is not None
    ]
    folders = _by_folder(p for p in files if "/" in p)
    selected = ["model_index.json"]
    for comp in components:
        # Nested files (e.g. a sub-sub folder) are not part of a diffusers component.
        names = [n for n in folders.get(comp, []) if "/" not in n]
        selected += _select_folder(comp, names, variant, exclude)
    return sorted(selected)


def select_transformers(files: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """Root configs/tokenizer files and the model weights (safetensors shards over .bin)."""
    files = list(files)
    root = [p for p in files if "/" not in p]
    selected = _select_folder("", root, None, exclude)
    # Keep only the main model weights if a repo also ships e.g. adapter or optimizer files.
    return [p for p in selected if not p.startswith(("optimizer", "training_args", "scheduler.pt"))]


def select_by_patterns(
    files: Iterable[str], include: Iterable[str], exclude: Iterable[str] = ()
) -> list[str]:
    """Files matching `include` (full-path globs) and not `exclude`."""
    inc = list(include)
    return sorted(
        p for p in files if any(fnmatch.fnmatchcase(p, pat) for pat in inc) and not _matches(p, exclude)
    )


def detect_kind(files: Iterable[str]) -> str:
    """For a bare org/name: diffusers when model_index.json exists, transformers when config.json does."""
    names = set(files)
    if "model_index.json" in names:
        return "diffusers"
    if "config.json" in names:
        return "transformers"
    raise InstallError(
        "Cannot tell how to install this repo (no model_index.json or config.json).",
        hint="Add an entry with kind and include = [...] to your models.toml (see `gator models show`).",
    )
