"""The tiny SDXL-layout pipeline used by install and mirror tests is real: it loads and generates."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import DECOY_FILES, expected_fp16_selection, make_tiny_sdxl, repo_files

pytestmark = pytest.mark.torch


def test_layout_has_variants_and_decoys(tmp_path: Path) -> None:
    root = make_tiny_sdxl(tmp_path / "sdxl")
    files = repo_files(root)
    for comp, stem in (("unet", "diffusion_pytorch_model"), ("text_encoder_2", "model")):
        assert f"{comp}/{stem}.safetensors" in files
        assert f"{comp}/{stem}.fp16.safetensors" in files
        # fp16 is about half the fp32 bytes: really a different dtype, not a copy.
        assert files[f"{comp}/{stem}.fp16.safetensors"] < 0.6 * files[f"{comp}/{stem}.safetensors"]
    for decoy in DECOY_FILES:
        assert decoy in files
    sel = expected_fp16_selection(root)
    assert not sel & set(DECOY_FILES)
    assert "model_index.json" in sel and "tokenizer_2/vocab.json" in sel


def test_deterministic_bytes(tmp_path: Path) -> None:
    a = make_tiny_sdxl(tmp_path / "a", decoys=False)
    b = make_tiny_sdxl(tmp_path / "b", decoys=False)
    rel = "unet/diffusion_pytorch_model.fp16.safetensors"
    assert (a / rel).read_bytes() == (b / rel).read_bytes()


def test_loads_and_generates_on_cpu(tmp_path: Path) -> None:
    import torch
    from diffusers import StableDiffusionXLPipeline

    root = make_tiny_sdxl(tmp_path / "sdxl")
    pipe = StableDiffusionXLPipeline.from_pretrained(root, variant="fp16", torch_dtype=torch.float32)
    assert pipe.unet.config.addition_embed_type == "text_time"
    out = pipe("an astronaut", num_inference_steps=1, height=64, width=64, output_type="np")
    assert out.images.shape == (1, 64, 64, 3)
