"""Static export reading: lazy tables, __getattr__, star imports, submodules; real installed providers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from gator_setup.analysis import provider_exports
from gator_setup.analysis.exports import find_module_file


def write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def test_plain_module_all_and_submodules(tmp_path: Path) -> None:
    write(tmp_path, "prov/__init__.py", "from .core import *\nfrom . import sub\nX = 1\ndef f(): pass\n")
    write(tmp_path, "prov/core.py", "__all__ = ['A']\nA = 1\nB = 2\n")
    write(tmp_path, "prov/sub/__init__.py", "")
    write(tmp_path, "prov/other.py", "")
    e = provider_exports(tmp_path, "prov")
    assert e is not None and not e.dynamic
    assert {"X", "f", "A", "sub"} <= e.names and "B" not in e.names  # star honours __all__
    assert {"core", "sub", "other"} <= e.submodules
    assert e.has("other") is True and e.has("missing") is False
    assert provider_exports(tmp_path, "prov.nothere") is None


def test_hub_style_lazy_table_is_not_dynamic(tmp_path: Path) -> None:
    write(
        tmp_path,
        "hub/__init__.py",
        "_SUBMOD_ATTRS = {'file_download': ['hf_hub_download', 'try_to_load']}\n"
        "def _attach(n, submod_attrs): ...\n"
        "__getattr__, __dir__, __all__ = _attach(__name__, submod_attrs=_SUBMOD_ATTRS)\n",
    )
    e = provider_exports(tmp_path, "hub")
    assert e is not None and not e.dynamic
    assert e.has("hf_hub_download") is True and e.has("cached_download") is False


def test_getattr_without_table_and_computed_lazy_module_are_dynamic(tmp_path: Path) -> None:
    write(tmp_path, "np_like/__init__.py", "x = 1\ndef __getattr__(name):\n    raise AttributeError(name)\n")
    write(
        tmp_path,
        "tf_like/__init__.py",
        "import sys\n_import_structure = {'a': ['A']}\n"
        "if TYPE_CHECKING:\n    from .a import A\nelse:\n"
        "    s = define_import_structure(__file__)\n    sys.modules[__name__] = _LazyModule(__name__, s)\n",
    )
    write(
        tmp_path,
        "df_like/__init__.py",
        "import sys\n_import_structure = {'pipelines': ['Pipe']}\n_import_structure['models'] = ['M']\n"
        "_import_structure['pipelines'].extend(['Pipe2'])\n"
        "sys.modules[__name__] = _LazyModule(__name__, globals()['__file__'], _import_structure)\n",
    )
    assert provider_exports(tmp_path, "np_like").has("anything") is None  # type: ignore[union-attr]
    tf = provider_exports(tmp_path, "tf_like")
    assert tf is not None and tf.dynamic and tf.has("A") is True and tf.has("Zzz") is None
    df = provider_exports(tmp_path, "df_like")
    assert df is not None and not df.dynamic
    assert {"Pipe", "Pipe2", "M", "pipelines", "models"} <= df.names and df.has("Gone") is False


def test_compiled_extension_is_dynamic(tmp_path: Path) -> None:
    write(tmp_path, "ext/__init__.py", "from ._C import *\n")
    (tmp_path / "ext" / "_C.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    assert find_module_file(tmp_path, "ext._C")[2] == "extension"
    e = provider_exports(tmp_path, "ext")
    assert e is not None and e.dynamic


def _root(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{module} is not installed")
    return Path(next(iter(spec.submodule_search_locations))).parent


def test_real_installed_providers_give_no_false_errors() -> None:
    from importlib.metadata import version

    from packaging.version import Version

    hub = provider_exports(_root("huggingface_hub"), "huggingface_hub")
    assert hub is not None and not hub.dynamic
    for name in ("hf_hub_download", "snapshot_download", "HfApi", "login", "file_download", "constants"):
        assert hub.has(name) is True, name
    if Version(version("huggingface_hub")) >= Version("0.26"):
        assert hub.has("cached_download") is False
    diffusers = provider_exports(_root("diffusers"), "diffusers")
    assert diffusers is not None
    for name in ("DiffusionPipeline", "StableDiffusionPipeline", "UNet2DConditionModel", "utils"):
        assert diffusers.has(name) is not False, name
    tf = provider_exports(_root("transformers"), "transformers")
    assert tf is not None
    for name in ("AutoModel", "AutoTokenizer", "PreTrainedModel", "pipeline", "utils"):
        assert tf.has(name) is not False, name


@pytest.mark.torch
def test_real_torch_and_numpy() -> None:
    torch = provider_exports(_root("torch"), "torch")
    assert torch is not None and torch.has("nn") is True and torch.has("Tensor") is not False
    nn = provider_exports(_root("torch"), "torch.nn")
    assert nn is not None and nn.has("Module") is True
    np = provider_exports(_root("numpy"), "numpy")
    assert np is not None and np.has("ndarray") is not False and np.has("linalg") is True
