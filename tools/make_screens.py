"""Capture what a user sees, colour kept: docs/screens/*.ansi (raw terminal bytes) and *.svg.

    python tools/make_screens.py [--columns 100] [--out docs/screens]

Builds two venvs with uv (a fresh one with nothing in it, and a broken one: diffusers 0.25.0 with
huggingface_hub 0.26.0), then runs gator in a real pseudo-terminal of the given width, from a
folder that is not a project, exactly as a user would; `cat docs/screens/NAME.ansi` replays one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ptyrun import run_in_pty, terminal_env

ROOT = Path(__file__).resolve().parents[1]


def in_pty(argv: list[str], columns: int, cwd: Path) -> bytes:
    """Run argv in a pseudo-terminal `columns` wide; what the terminal received on stdout (stderr,
    the spinner of a slow step that erases itself on a real terminal, is left out)."""
    _code, raw = run_in_pty(
        argv, columns=columns, rows=60, cwd=cwd, env=terminal_env(), with_stderr=False, timeout=300
    )
    return raw


def venv(path: Path, *requirements: str) -> Path:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(path)], check=True)
    if requirements:
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(path / "bin" / "python"), *requirements], check=True
        )
    return path


def save(name: str, shown: str, raw: bytes, out: Path, columns: int) -> None:
    from rich.console import Console
    from rich.text import Text

    text = f"\x1b[1m$ {shown}\x1b[0m\n".encode() + raw
    (out / f"{name}.ansi").write_bytes(text)
    console = Console(record=True, width=columns, force_terminal=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(Text.from_ansi(text.decode("utf-8", "replace")), soft_wrap=True)
    console.save_svg(str(out / f"{name}.svg"), title=shown)
    print(f"wrote {out / name}.ansi and .svg", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=100)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screens")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    gator = [sys.executable, "-m", "gator_setup"]
    with tempfile.TemporaryDirectory(prefix="gator-screens-") as tmp:
        here = Path(tmp)
        fresh = venv(here / "fresh")
        broken = venv(here / "broken", "diffusers==0.25.0", "huggingface_hub==0.26.0")
        shots = [
            ("doctor-fresh-cpu", ["doctor", "--python", str(fresh)], "gator doctor --python fresh"),
            ("doctor-broken-venv", ["doctor", "--python", str(broken)], "gator doctor --python broken"),
            ("models-list", ["models", "list"], "gator models list"),
        ]
        for name, argv, shown in shots:
            save(name, shown, in_pty([*gator, *argv], args.columns, here), args.out, args.columns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
