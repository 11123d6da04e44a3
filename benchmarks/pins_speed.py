"""Benchmark `gator check-pins` on a large generated-but-realistic project.

The project: a pyproject.toml with 120 dependencies (markers, extras, dependency groups),
requirements.txt / requirements-dev.txt with -r and -c includes (a 400-line `pip freeze`-style
file with hashes), a constraints file, and a uv.lock with 450 packages. Names are real ecosystem
packages followed by numbered filler packages; the diffusers/huggingface_hub pins are the old
Gator ones, so every run finds the cached_download rule (exit 1).

    python benchmarks/pins_speed.py [--runs 7]

Prints the median whole-process time (`gator check-pins --json`, start-up included) and the
median in-process time of run_check_pins().
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REAL = [
    "torch",
    "torchvision",
    "torchaudio",
    "numpy",
    "scipy",
    "pandas",
    "pillow",
    "requests",
    "urllib3",
    "certifi",
    "idna",
    "tqdm",
    "pyyaml",
    "regex",
    "safetensors",
    "tokenizers",
    "transformers",
    "accelerate",
    "peft",
    "datasets",
    "evaluate",
    "sentence-transformers",
    "timm",
    "open-clip-torch",
    "optimum",
    "onnx",
    "onnxruntime",
    "gradio",
    "fastapi",
    "uvicorn",
    "pydantic",
    "httpx",
    "aiohttp",
    "jinja2",
    "markupsafe",
    "filelock",
    "fsspec",
    "packaging",
    "typing-extensions",
    "sympy",
    "networkx",
    "protobuf",
    "sentencepiece",
    "einops",
    "xformers",
    "bitsandbytes",
    "opencv-python-headless",
    "scikit-learn",
    "matplotlib",
    "rich",
    "typer",
    "click",
    "psutil",
    "omegaconf",
    "hydra-core",
    "lightning",
    "tensorboard",
    "wandb",
]


#: Realistic exact pins for the stack packages in the freeze file and the lock.
PINNED = {"torch": "2.2.0+rocm5.7", "numpy": "1.26.4", "diffusers": "0.27.2", "huggingface_hub": "0.26.0"}


def _version(name: str, i: int) -> str:
    return PINNED.get(name, f"{1 + i % 5}.{i % 13}.{i % 3}")


def make_project(root: Path, n_freeze: int = 400, n_lock: int = 450) -> None:
    names = [
        *REAL,
        "diffusers",
        "huggingface_hub",
        *(f"filler-pkg-{i:03d}" for i in range(max(n_lock, n_freeze))),
    ]
    generic = [n for n in names if n not in PINNED]
    deps = [f'    "{n}>=1.{i % 9}",' for i, n in enumerate(generic[:100])]
    deps += [
        '    "diffusers>=0.25.0",',
        '    "huggingface_hub>=0.20.0",',
        '    "tomli>=2; python_version < \\"3.11\\"",',
    ]
    extras = "\n".join(
        f"{g} = [\n"
        + "\n".join(f'    "{n}~=2.{i % 7}.0",' for i, n in enumerate(generic[100 + k * 6 : 106 + k * 6]))
        + "\n]"
        for k, g in enumerate(("cuda", "rocm", "cpu"))
    )
    (root / "pyproject.toml").write_text(
        '[project]\nname = "big"\nversion = "1.0"\nrequires-python = ">=3.9"\ndependencies = [\n'
        + "\n".join(deps)
        + "\n]\n\n[project.optional-dependencies]\n"
        + extras
        + '\n\n[dependency-groups]\ndev = ["pytest>=8", "ruff>=0.6", {include-group = "docs"}]\n'
        'docs = ["mkdocs>=1.5"]\n'
    )
    freeze = [
        f"{n}=={_version(n, i)} \\\n    --hash=sha256:{'%064x' % (i * 7919)}"
        for i, n in enumerate(names[:n_freeze])
    ]
    (root / "requirements.txt").write_text("-c constraints.txt\n" + "\n".join(freeze) + "\n")
    (root / "requirements-dev.txt").write_text("-r requirements.txt\npytest>=8\nmypy>=1.10\n")
    (root / "constraints.txt").write_text("\n".join(f"{n}<99" for n in names[:50]) + "\n")
    lock = ['version = 1\nrequires-python = ">=3.9"\n']
    for i, n in enumerate(names[:n_lock]):
        lock.append(
            f'[[package]]\nname = "{n}"\nversion = "{_version(n, i)}"\n'
            f'source = {{ registry = "https://pypi.org/simple" }}\n'
            f'dependencies = [\n    {{ name = "{names[(i + 1) % n_lock]}" }},\n]\n'
        )
    (root / "uv.lock").write_text("\n".join(lock))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root)
        gator = [sys.executable, "-m", "gator_setup"]
        walls = []
        for _ in range(args.runs):
            t = time.perf_counter()
            r = subprocess.run([*gator, "check-pins", "--json"], cwd=root, capture_output=True, text=True)
            walls.append(time.perf_counter() - t)
        data = json.loads(r.stdout)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from gator_setup.core.check_pins import CheckPinsOptions, run_check_pins

        inproc = []
        for _ in range(args.runs):
            t = time.perf_counter()
            run_check_pins(CheckPinsOptions(project_dir=str(root)))
            inproc.append(time.perf_counter() - t)
        lines = sum(len(p.read_text().splitlines()) for p in root.iterdir())
        ctx = data["context"]
        print(
            f"project: {ctx['declarations']} declarations in {len(ctx['files'])} files "
            f"({lines} lines), {ctx['rules']} rules; exit {r.returncode}, "
            f"{data['summary']['errors']} error(s)"
        )
        print(
            f"gator check-pins whole process: median {statistics.median(walls):.3f} s over {args.runs} runs"
        )
        print(f"run_check_pins in process:      median {statistics.median(inproc):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
