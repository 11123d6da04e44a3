"""Tiny random-weight diffusers pipelines with the real SDXL repo layout, for install and mirror tests.

`make_tiny_sdxl(dest)` writes what `stabilityai/stable-diffusion-xl-base-1.0` looks like on the Hub
(model_index.json, unet/, vae/, text_encoder/, text_encoder_2/, tokenizer/, tokenizer_2/, scheduler/),
with fp32 *and* fp16 variant safetensors, plus the decoys a careful installer must skip: a root
single-file checkpoint, ONNX and OpenVINO exports, Flax weights and `.bin` duplicates. Weights are
random and tiny (the whole repo is well under 1 MB at scale=1), so building one takes about a second.
Needs torch and diffusers; tests using it carry `@pytest.mark.torch`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: The real SDXL decoy files (names as on the Hub) that a runtime-faithful selection never fetches.
DECOY_FILES: tuple[str, ...] = (
    "sd_xl_base_1.0.safetensors",
    "unet/model.onnx",
    "text_encoder/model.onnx",
    "unet/openvino_model.xml",
    "unet/openvino_model.bin",
    "unet/diffusion_flax_model.msgpack",
    "vae/diffusion_flax_model.msgpack",
    "text_encoder/flax_model.msgpack",
    "vae/diffusion_pytorch_model.bin",
    "text_encoder_2/pytorch_model.bin",
)

#: Components of the SDXL pipeline and the weight file stem each one uses.
WEIGHT_STEMS: dict[str, str] = {
    "unet": "diffusion_pytorch_model",
    "vae": "diffusion_pytorch_model",
    "text_encoder": "model",
    "text_encoder_2": "model",
}


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte -> printable unicode table (the tokenizer's base alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def write_clip_tokenizer(dest: Path, *, max_length: int = 77) -> int:
    """Write a small but real CLIP BPE tokenizer (vocab.json, merges.txt, configs); returns vocab size."""
    dest.mkdir(parents=True, exist_ok=True)
    alphabet = list(_bytes_to_unicode().values())
    vocab_tokens = alphabet + [c + "</w>" for c in alphabet]
    # A handful of merges so BPE really merges something (words of the test prompts).
    merges = [("a", "s"), ("t", "r"), ("o", "n</w>"), ("i", "n"), ("as", "tr"), ("astr", "on</w>")]
    for a, b in merges:
        vocab_tokens.append(a + b)
    vocab_tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(vocab_tokens))}
    (dest / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (dest / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges) + "\n", encoding="utf-8"
    )
    special = {
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
    }
    (dest / "special_tokens_map.json").write_text(json.dumps(special), encoding="utf-8")
    cfg = {"tokenizer_class": "CLIPTokenizer", "model_max_length": max_length, **special}
    (dest / "tokenizer_config.json").write_text(json.dumps(cfg), encoding="utf-8")
    return len(vocab)


def _save_safetensors(state: dict[str, Any], path: Path, *, half: bool) -> None:
    import torch
    from safetensors.torch import save_file

    dtype = torch.float16 if half else torch.float32
    tensors = {k: v.detach().to(dtype).contiguous().clone() for k, v in state.items()}
    save_file(tensors, str(path), metadata={"format": "pt"})


def _write_component(model: Any, folder: Path, stem: str, *, variant_fp16: bool) -> None:
    """save_pretrained gives the config; we write the weights ourselves (fp32 + fp16 variant)."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder), safe_serialization=True)
    state = model.state_dict()
    # Drop whatever save_pretrained wrote for weights and write our own deterministic names.
    for f in folder.glob("*.safetensors"):
        f.unlink()
    _save_safetensors(state, folder / f"{stem}.safetensors", half=False)
    if variant_fp16:
        _save_safetensors(state, folder / f"{stem}.fp16.safetensors", half=True)


def make_tiny_sdxl(dest: Path, *, variant_fp16: bool = True, decoys: bool = True, scale: int = 1) -> Path:
    """Write a tiny random SDXL-layout diffusers pipeline into `dest` and return `dest`.

    `scale` multiplies the UNet/VAE channel widths (the file sizes grow ~scale^2), for benchmarks that
    want a few MB per file. Deterministic: the same arguments give the same bytes.
    """
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    vocab_size = write_clip_tokenizer(dest / "tokenizer")
    write_clip_tokenizer(dest / "tokenizer_2")
    eos = vocab_size - 1
    bos = vocab_size - 2
    te_kwargs: dict[str, Any] = dict(
        bos_token_id=bos,
        eos_token_id=eos,
        pad_token_id=eos,
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=vocab_size,
        max_position_embeddings=77,
        hidden_act="gelu",
        projection_dim=32,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(**te_kwargs))
    text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**te_kwargs))

    c = 32 * scale
    # SDXL conditioning: pooled text (projection_dim=32) + 6 time ids * addition_time_embed_dim (8).
    unet = UNet2DConditionModel(
        block_out_channels=(c, 2 * c),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=6 * 8 + 32,
        cross_attention_dim=64,
        norm_num_groups=1,
    )
    vae = AutoencoderKL(
        block_out_channels=(8 * scale, 16 * scale),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
        timestep_spacing="leading",
        prediction_type="epsilon",
    )
    scheduler.save_pretrained(str(dest / "scheduler"))
    components = {"unet": unet, "vae": vae, "text_encoder": text_encoder, "text_encoder_2": text_encoder_2}
    for name, model in components.items():
        _write_component(model, dest / name, WEIGHT_STEMS[name], variant_fp16=variant_fp16)

    import diffusers

    model_index = {
        "_class_name": "StableDiffusionXLPipeline",
        "_diffusers_version": diffusers.__version__,
        "force_zeros_for_empty_prompt": True,
        "add_watermarker": None,
        "feature_extractor": [None, None],
        "image_encoder": [None, None],
        "scheduler": ["diffusers", "EulerDiscreteScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "tokenizer_2": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    (dest / "model_index.json").write_text(json.dumps(model_index, indent=2) + "\n", encoding="utf-8")
    (dest / "README.md").write_text(
        "---\nlicense: openrail++\n---\nTiny random SDXL-layout pipeline for gator tests.\n", encoding="utf-8"
    )
    if decoys:
        _write_decoys(dest, unet.state_dict(), vae.state_dict(), text_encoder_2.state_dict())
    return dest


def _write_decoys(
    dest: Path, unet_sd: dict[str, Any], vae_sd: dict[str, Any], te2_sd: dict[str, Any]
) -> None:
    import torch

    # Root single-file checkpoint (what A1111/ComfyUI load): real safetensors, original-style keys.
    single = {f"model.diffusion_model.{k}": v for k, v in unet_sd.items()}
    single.update({f"first_stage_model.{k}": v for k, v in vae_sd.items()})
    _save_safetensors(single, dest / "sd_xl_base_1.0.safetensors", half=True)
    # ONNX / OpenVINO / Flax: only their names matter to a selector; the bytes are distinct filler so
    # every decoy has its own hash (and a careless selection shows up in byte counts).
    filler = {
        "unet/model.onnx": 4096,
        "text_encoder/model.onnx": 2048,
        "unet/openvino_model.xml": 512,
        "unet/openvino_model.bin": 4096,
        "unet/diffusion_flax_model.msgpack": 4096,
        "vae/diffusion_flax_model.msgpack": 2048,
        "text_encoder/flax_model.msgpack": 2048,
    }
    for rel, size in filler.items():
        p = dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes((rel.encode() * (size // len(rel) + 1))[:size])
    # `.bin` duplicates of safetensors files, as real torch pickles.
    torch.save(vae_sd, dest / "vae" / "diffusion_pytorch_model.bin")
    torch.save(te2_sd, dest / "text_encoder_2" / "pytorch_model.bin")


def repo_files(root: Path) -> dict[str, int]:
    """Relative path -> size of every file under `root` (POSIX separators)."""
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}


def expected_fp16_selection(root: Path) -> set[str]:
    """What a runtime-faithful fp16 install of the tiny repo must fetch: configs, tokenizers, fp16 weights."""
    out = {"model_index.json"}
    for rel in repo_files(root):
        top = rel.split("/", 1)[0]
        if "/" not in rel:
            continue
        name = rel.rsplit("/", 1)[1]
        fp16_name = f"{WEIGHT_STEMS.get(top)}.fp16.safetensors"
        wanted_weight = top in WEIGHT_STEMS and name in ("config.json", fp16_name)
        if top in ("tokenizer", "tokenizer_2", "scheduler") or wanted_weight:
            out.add(rel)
    return out
