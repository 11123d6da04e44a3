#!/usr/bin/env bash
# Reproduce the gator-rocm5.7 profile range on a CPU box: torch 2.2.0 from PyPI (same Python API
# as the +rocm5.7 build), numpy<2, and the candidate diffusers/hub/transformers pins; import them
# and load a tiny random-weight pipeline with from_pretrained.
# Usage: scripts/verify-gator-rocm5.7.sh VENV_DIR "diffusers==X" "huggingface_hub==Y" "transformers==Z" [numpy spec]
set -euo pipefail
venv=$1; shift
numpy_spec=${4:-"numpy<2"}
pins=("$1" "$2" "$3")
here=$(cd "$(dirname "$0")" && pwd)
uv venv -q --python 3.11 "$venv"
# PyPI's torch 2.2.0 is the CUDA 12.1 build; its nvidia-* libraries must be present for `import torch`
# even on a CPU-only box, so it is installed with its dependencies.
uv pip install -q --python "$venv/bin/python" torch==2.2.0 "$numpy_spec" "${pins[@]}" safetensors
"$venv/bin/python" "$here/tiny_pipeline_check.py"
