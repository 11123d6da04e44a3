"""The catalog: built-in entries are complete and valid; user entries are validated; names resolve."""

from __future__ import annotations

from pathlib import Path

import pytest

from gator_setup.errors import UnknownNameError
from gator_setup.installers.catalog import load_catalog
from gator_setup.installers.errors import CatalogError

REQUIRED = (
    "sdxl-1.0",
    "stable-diffusion-v1-5",
    "flux.1-dev",
    "llama-3.1-8b",
    "qwen2.5-7b",
    "mixtral-8x7b",
    "llama-3.1-70b",
    "qwen2.5-72b",
    "xtts-v2",
    "bark",
    "piper",
)


def test_builtin_catalog_has_the_gator_models(tmp_path: Path) -> None:
    cat = load_catalog(tmp_path / "none.toml")
    for name in REQUIRED:
        e = cat.resolve(name)
        assert "/" in e.repo and e.license and e.size_gb and e.min_ram_gb is not None
        assert e.gated is not None
    assert cat.resolve("llama-3.1-8b").gated is True
    assert cat.resolve("qwen2.5-7b").gated is False
    assert cat.resolve("sdxl-1.0").variant == "fp16"


def test_unknown_name_suggests_close_matches(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError) as exc:
        load_catalog(tmp_path / "none.toml").resolve("sdxl-1")
    assert "Did you mean: sdxl-1.0" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_org_name_installs_directly(tmp_path: Path) -> None:
    e = load_catalog(tmp_path / "none.toml").resolve("someone/some-model")
    assert e.repo == "someone/some-model" and e.kind == "auto"


def test_user_entries_add_and_override(tmp_path: Path) -> None:
    user = tmp_path / "models.toml"
    user.write_text(
        '[models.mine]\nrepo = "me/tiny"\nkind = "transformers"\nsize_gb = 0.1\n'
        '[models."sdxl-1.0"]\nrepo = "me/sdxl"\nkind = "diffusers"\n'
    )
    cat = load_catalog(user)
    assert cat.resolve("mine").repo == "me/tiny"
    assert cat.resolve("sdxl-1.0").repo == "me/sdxl"
    assert cat.resolve("sdxl-1.0").source == str(user)


def test_env_var_points_at_user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "m.toml"
    user.write_text('[models.x]\nrepo = "a/b"\nkind = "transformers"\n')
    monkeypatch.setenv("GATOR_MODELS_FILE", str(user))
    assert load_catalog().resolve("x").repo == "a/b"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[models.a]\nrepo = "a/b"\nkind = "transformers"\nsize = 3\n', "unknown key 'size'"),
        ('[models.a]\nrepo = "nope"\nkind = "transformers"\n', "not an 'org/name'"),
        ('[models.a]\nrepo = "a/b"\nkind = "gguf"\n', "kind 'gguf'"),
        ('[models.a]\nrepo = "a/b"\nkind = "voice"\n', "needs include"),
        ('[models.a]\nrepo = "a/b"\nkind = "diffusers"\nrevision = "main"\n', "40-hex"),
        ('[models.a]\nkind = "diffusers"\n', "missing 'repo'"),
        ('[models.a]\nrepo = "a/b"\nkind = "diffusers"\ngated = "yes"\n', "gated must be bool"),
        ("[models.a\n", "invalid TOML"),
    ],
)
def test_invalid_user_entries_are_one_line_errors(tmp_path: Path, body: str, message: str) -> None:
    user = tmp_path / "models.toml"
    user.write_text(body)
    with pytest.raises(CatalogError) as exc:
        load_catalog(user)
    assert message in str(exc.value)
    assert str(user) in str(exc.value)


def test_docs_table_is_in_sync_with_the_catalog(tmp_path: Path) -> None:
    import re

    from gator_setup.installers.catalog import markdown_table

    docs = (Path(__file__).resolve().parents[2] / "docs" / "models.md").read_text()
    m = re.search(r"<!-- catalog-table[^>]*-->\n(.*?)<!-- /catalog-table -->", docs, re.S)
    assert m, "docs/models.md lost its catalog table markers"
    assert m.group(1) == markdown_table(load_catalog(tmp_path / "none.toml")), (
        "regenerate the table in docs/models.md from catalog.toml (markdown_table)"
    )


GB = 10**9


@pytest.mark.parametrize(
    ("name", "ram", "vram", "gpus", "verdict", "reason"),
    [
        # The machine: 24 GiB, CPU only. The big models and the 7-8B ones (32 GB) do not fit.
        ("llama-3.1-70b", 24 * 2**30, None, (), "no", "needs 160 GB RAM, this machine has 26 GB"),
        ("llama-3.1-8b", 24 * 2**30, None, (), "no", "needs 32 GB RAM, this machine has 26 GB"),
        ("flux.1-dev", 24 * 2**30, None, (), "no", "needs 32 GB RAM"),
        ("sdxl-1.0", 24 * 2**30, None, (), "cpu", "no GPU found: runs on the CPU, slowly"),
        ("piper", 24 * 2**30, None, (), "yes", "runs on the CPU"),
        # A 24 GB GPU with 64 GB RAM.
        ("flux.1-dev", 64 * GB, 24 * GB, ("RTX 4090",), "yes", "needs 24 GB VRAM, the GPU has 24 GB"),
        ("mixtral-8x7b", 64 * GB, 24 * GB, ("RTX 4090",), "no", "needs 128 GB RAM"),
        # An 8 GB GPU: FLUX runs with offload, the RAM it needs is there.
        ("flux.1-dev", 64 * GB, 8 * GB, ("RTX 3070",), "offload", "needs 24 GB VRAM, the GPU has 8 GB"),
        ("sdxl-1.0", None, None, (), "unknown", "RAM could not be read"),
        ("sdxl-1.0", 64 * GB, None, ("MI25",), "unknown", "GPU's memory could not be read"),
    ],
)
def test_fits_compares_needs_with_this_machine(
    name: str, ram: int | None, vram: int | None, gpus: tuple[str, ...], verdict: str, reason: str
) -> None:
    from gator_setup.installers.catalog import fits
    from gator_setup.probes.memory import MemoryFacts

    fit = fits(load_catalog().resolve(name), MemoryFacts(ram, vram, gpus))
    assert fit.verdict == verdict and reason in fit.reason, fit
