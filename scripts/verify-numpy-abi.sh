#!/usr/bin/env bash
# Reproduce the GTR207 boundary: torch built against NumPy 1.x (<= 2.2.x) loses the numpy bridge
# under NumPy 2; torch 2.3.0 (the first NumPy-2 build) keeps it. CPU only; needs PyPI.
# Usage: scripts/verify-numpy-abi.sh WORKDIR
set -uo pipefail
work=${1:-.venvs}
probe='import warnings, torch, numpy
try:
    print("torch", torch.__version__, "numpy", numpy.__version__, "bridge", torch.ones(2).numpy().sum())
except RuntimeError as exc:
    print("torch", torch.__version__, "numpy", numpy.__version__, "FAILED:", exc)'
for torch_v in 2.2.0 2.2.2 2.3.0; do
  venv="$work/np2-torch$torch_v"
  uv venv -q --python 3.11 "$venv"
  uv pip install -q --python "$venv/bin/python" "torch==$torch_v" "numpy==2.0.2"
  "$venv/bin/python" -c "$probe" 2>&1 | grep -E "^torch|_ARRAY_API|compiled using NumPy 1.x"
done
