"""Reproduction for the gator-rocm5.7 profile: import the stack, save and reload a tiny pipeline.

Run inside a venv holding the candidate pins (see scripts/verify-gator-rocm5.7.sh). Prints one
JSON line with the versions and the pipeline output shape; exits non-zero on any failure.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings


def main() -> int:
    """Random-weight DDPMPipeline and CLIP text encoder: save_pretrained, from_pretrained, run."""
    warnings.simplefilter("error", UserWarning)  # the numpy-2 banner is a UserWarning: fail on it
    import diffusers
    import huggingface_hub
    import numpy
    import torch
    import transformers
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel
    from transformers import CLIPTextConfig, CLIPTextModel

    if not transformers.utils.is_torch_available():
        raise SystemExit(f"transformers {transformers.__version__} refuses torch {torch.__version__}")

    torch.manual_seed(0)
    unet = UNet2DModel(
        sample_size=8,
        in_channels=3,
        out_channels=3,
        layers_per_block=1,
        block_out_channels=(8, 16),
        down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"),
        norm_num_groups=4,
    )
    pipe = DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=10))
    with tempfile.TemporaryDirectory() as d:
        pipe.save_pretrained(d)
        loaded = DDPMPipeline.from_pretrained(d)
        out = loaded(batch_size=1, num_inference_steps=2, output_type="np")
        # The text encoder of SD pipelines: a tiny CLIP, saved and reloaded the same way.
        cfg = CLIPTextConfig(
            vocab_size=100,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=16,
        )
        CLIPTextModel(cfg).save_pretrained(f"{d}/text_encoder")
        enc = CLIPTextModel.from_pretrained(f"{d}/text_encoder")
        hidden = enc(torch.tensor([[1, 2, 3]])).last_hidden_state
    # tensor -> numpy bridge: the call that dies with "Numpy is not available" under numpy 2.
    arr = torch.ones(2).numpy()
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "numpy": numpy.__version__,
                "diffusers": diffusers.__version__,
                "huggingface_hub": huggingface_hub.__version__,
                "transformers": transformers.__version__,
                "image_shape": list(out.images.shape),
                "text_hidden_shape": list(hidden.shape),
                "numpy_bridge": float(arr.sum()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
