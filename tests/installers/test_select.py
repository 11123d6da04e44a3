"""File selection: what a runtime loads, from listings shaped like real Hub repos (no network, no torch)."""

from __future__ import annotations

from gator_setup.installers.select import (
    detect_kind,
    select_by_patterns,
    select_diffusers,
    select_transformers,
    select_weights,
)

# The real stabilityai/stable-diffusion-xl-base-1.0 file list (names as on the Hub, abridged).
SDXL_FILES = [
    "model_index.json",
    "sd_xl_base_1.0.safetensors",
    "sd_xl_base_1.0_0.9vae.safetensors",
    "sd_xl_offset_example-lora_1.0.safetensors",
    "scheduler/scheduler_config.json",
    "text_encoder/config.json",
    "text_encoder/flax_model.msgpack",
    "text_encoder/model.fp16.safetensors",
    "text_encoder/model.onnx",
    "text_encoder/model.safetensors",
    "text_encoder/openvino_model.bin",
    "text_encoder/openvino_model.xml",
    "text_encoder_2/config.json",
    "text_encoder_2/model.fp16.safetensors",
    "text_encoder_2/model.onnx",
    "text_encoder_2/model.onnx_data",
    "text_encoder_2/model.safetensors",
    "tokenizer/merges.txt",
    "tokenizer/special_tokens_map.json",
    "tokenizer/tokenizer_config.json",
    "tokenizer/vocab.json",
    "tokenizer_2/merges.txt",
    "tokenizer_2/special_tokens_map.json",
    "tokenizer_2/tokenizer_config.json",
    "tokenizer_2/vocab.json",
    "unet/config.json",
    "unet/diffusion_flax_model.msgpack",
    "unet/diffusion_pytorch_model.fp16.safetensors",
    "unet/diffusion_pytorch_model.safetensors",
    "unet/model.onnx",
    "unet/model.onnx_data",
    "unet/openvino_model.bin",
    "unet/openvino_model.xml",
    "vae/config.json",
    "vae/diffusion_flax_model.msgpack",
    "vae/diffusion_pytorch_model.fp16.safetensors",
    "vae/diffusion_pytorch_model.safetensors",
    "vae_1_0/config.json",
    "vae_1_0/diffusion_pytorch_model.fp16.safetensors",
    "vae_decoder/model.onnx",
    "vae_encoder/model.onnx",
]
SDXL_INDEX = {
    "_class_name": "StableDiffusionXLPipeline",
    "scheduler": ["diffusers", "EulerDiscreteScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "tokenizer_2": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
    "feature_extractor": [None, None],
}


def test_sdxl_fp16_selection_is_exactly_the_runtime_files() -> None:
    sel = select_diffusers(SDXL_FILES, SDXL_INDEX, "fp16")
    assert sel == sorted(
        [
            "model_index.json",
            "scheduler/scheduler_config.json",
            "text_encoder/config.json",
            "text_encoder/model.fp16.safetensors",
            "text_encoder_2/config.json",
            "text_encoder_2/model.fp16.safetensors",
            "tokenizer/merges.txt",
            "tokenizer/special_tokens_map.json",
            "tokenizer/tokenizer_config.json",
            "tokenizer/vocab.json",
            "tokenizer_2/merges.txt",
            "tokenizer_2/special_tokens_map.json",
            "tokenizer_2/tokenizer_config.json",
            "tokenizer_2/vocab.json",
            "unet/config.json",
            "unet/diffusion_pytorch_model.fp16.safetensors",
            "vae/config.json",
            "vae/diffusion_pytorch_model.fp16.safetensors",
        ]
    )


def test_no_variant_picks_fp32_safetensors_not_bin() -> None:
    files = [*SDXL_FILES, "vae/diffusion_pytorch_model.bin"]
    sel = select_diffusers(files, SDXL_INDEX, None)
    assert "unet/diffusion_pytorch_model.safetensors" in sel
    assert not any(p.endswith((".fp16.safetensors", ".bin", ".onnx")) for p in sel)


def test_missing_variant_falls_back_to_plain_weights_per_component() -> None:
    # FLUX-like: bf16 weights with no variant suffix, sharded transformer with its index.
    files = [
        "model_index.json",
        "flux1-dev.safetensors",
        "transformer/config.json",
        "transformer/diffusion_pytorch_model-00001-of-00003.safetensors",
        "transformer/diffusion_pytorch_model-00002-of-00003.safetensors",
        "transformer/diffusion_pytorch_model-00003-of-00003.safetensors",
        "transformer/diffusion_pytorch_model.safetensors.index.json",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors",
    ]
    index = {"transformer": ["diffusers", "FluxTransformer2DModel"], "vae": ["diffusers", "AutoencoderKL"]}
    sel = select_diffusers(files, index, "fp16")
    assert "flux1-dev.safetensors" not in sel
    assert "transformer/diffusion_pytorch_model.safetensors.index.json" in sel
    assert sum("of-00003" in p for p in sel) == 3


def test_bin_only_when_no_safetensors() -> None:
    assert select_weights(["pytorch_model.bin", "config.json"], None) == ["pytorch_model.bin"]
    assert select_weights(["pytorch_model.bin", "model.safetensors"], None) == ["model.safetensors"]


def test_transformers_shards_and_excludes() -> None:
    files = [
        "config.json",
        "generation_config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
        "original/consolidated.00.pth",
        "original/params.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "README.md",
        "LICENSE",
    ]
    sel = select_transformers(files, ["original/*"])
    assert sel == sorted(
        [
            "config.json",
            "generation_config.json",
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors",
            "model.safetensors.index.json",
            "special_tokens_map.json",
            "tokenizer.json",
            "tokenizer_config.json",
        ]
    )


def test_patterns_and_kind_detection() -> None:
    assert select_by_patterns(SDXL_FILES, ["sd_xl_base_1.0.safetensors"]) == ["sd_xl_base_1.0.safetensors"]
    assert detect_kind(SDXL_FILES) == "diffusers"
    assert detect_kind(["config.json", "model.safetensors"]) == "transformers"
