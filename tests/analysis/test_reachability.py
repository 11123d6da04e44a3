"""Reachability of a package's modules, read from the code (analysis/reachability.py)."""

from __future__ import annotations

from pathlib import Path

from gator_setup.analysis.reachability import PackageIndex, entry_point_modules, reach_for


def _pkg(root: Path, files: dict[str, str]) -> PackageIndex:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return PackageIndex(root, list(files))


LAZY = {
    "lib/__init__.py": '_import_structure = {"models.alpha": ["AlphaModel"]}\n',
    "lib/models/__init__.py": "",
    "lib/models/alpha/__init__.py": (
        '_import_structure = {"modeling_alpha": ["AlphaModel"]}\n'
        'sys.modules[__name__] = _LazyModule(__name__, globals()["__file__"], _import_structure)\n'
    ),
    "lib/models/alpha/modeling_alpha.py": "from huggingface_hub import gone\n",
    "lib/models/alpha/convert_alpha_checkpoint.py": "from huggingface_hub import gone\n",
    "lib/_cli.py": "def main():\n    from ._tools import run\n",
    "lib/_tools.py": "from huggingface_hub import gone\n",
    "lib/_plugin_only.py": "from huggingface_hub import gone\n",
}


def test_lazy_tables_reach_modeling_files_but_not_conversion_scripts(tmp_path: Path) -> None:
    idx = _pkg(tmp_path, LAZY)
    got = reach_for(
        idx,
        ["lib.models.alpha.modeling_alpha", "lib.models.alpha.convert_alpha_checkpoint", "lib._tools"],
        None,
    )
    assert got["lib.models.alpha.modeling_alpha"].reachable
    assert (
        "lib.models.alpha names lib.models.alpha.modeling_alpha" in got["lib.models.alpha.modeling_alpha"].how
    )
    conv = got["lib.models.alpha.convert_alpha_checkpoint"]
    assert not conv.reachable and "nothing users import reaches" in conv.how
    # Only `lib` is a root here (no entry points): it names models.alpha, never cli or tools.
    assert not got["lib._tools"].reachable


def test_entry_points_and_extra_roots_reach_modules(tmp_path: Path) -> None:
    idx = _pkg(tmp_path / "site", LAZY)
    info = tmp_path / "site" / "lib-1.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text("[console_scripts]\nlib-cli = lib._cli:main\n")
    assert entry_point_modules(info) == {"lib._cli": "console_scripts `lib-cli`"}
    got = reach_for(idx, ["lib._tools", "lib._plugin_only"], info, {"lib._plugin_only": "the project"})
    assert got["lib._tools"].reachable  # a function-level import in the console script's module
    assert "entry point console_scripts `lib-cli`" in got["lib._tools"].how
    assert got["lib._plugin_only"].reachable and "the project" in got["lib._plugin_only"].how


def test_a_package_loading_its_own_folder_reaches_every_submodule(tmp_path: Path) -> None:
    files = dict(LAZY)
    # Newer lazy modules derive the table from the folder: the code names no submodule.
    files["lib/models/alpha/__init__.py"] = (
        "_file = globals()['__file__']\n"
        "sys.modules[__name__] = _LazyModule(__name__, _file, define_import_structure(_file))\n"
    )
    idx = _pkg(tmp_path, files)
    got = reach_for(idx, ["lib.models.alpha.convert_alpha_checkpoint"], None)
    assert got["lib.models.alpha.convert_alpha_checkpoint"].reachable


def test_relative_and_absolute_imports_are_edges(tmp_path: Path) -> None:
    idx = _pkg(
        tmp_path,
        {
            "pkg/__init__.py": "from ._a import x\n",
            "pkg/_a.py": "import pkg._b as b\nfrom . import (\n    _c,  # comment\n)\n",
            "pkg/_b.py": "",
            "pkg/_c.py": "",
            "pkg/_d.py": "# pkg_d is mentioned only in a comment\n",
        },
    )
    got = reach_for(idx, ["pkg._b", "pkg._c", "pkg._d"], None)
    assert got["pkg._b"].reachable and got["pkg._c"].reachable
    assert not got["pkg._d"].reachable


def test_public_children_of_the_top_package_are_roots(tmp_path: Path) -> None:
    idx = _pkg(
        tmp_path,
        {
            "top/__init__.py": "",
            "top/hub_utils/__init__.py": "from ._hf import x\n",
            "top/hub_utils/_hf.py": "",
            "top/_private/__init__.py": "",
            "top/_private/m.py": "",
        },
    )
    got = reach_for(idx, ["top.hub_utils._hf", "top._private.m"], None)
    assert got["top.hub_utils._hf"].reachable and "`import top.hub_utils`" in got["top.hub_utils._hf"].how
    assert not got["top._private.m"].reachable
