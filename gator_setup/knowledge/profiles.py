"""Profiles: named stacks (constraints plus platform expectations) loaded from constraints/.

A profile is one pip constraints file, `constraints/<name>.txt`, usable as
`pip install -c constraints/<name>.txt ...`. Its metadata lives in comment lines pip ignores:

    # gator: platform = amd
    # gator: torch_index_url = https://download.pytorch.org/whl/rocm5.7

Keys: description, platform (amd|nvidia|cpu), torch_index_url, gpu_archs (comma list),
rocm, cuda, min_vram_gb, min_ram_gb, verified (where the reproduction is recorded).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from gator_setup.errors import InputError, UnknownNameError

_META = re.compile(r"^#\s*gator:\s*([a-z_]+)\s*=\s*(.*?)\s*$")
KNOWN_KEYS = frozenset(
    {
        "description",
        "platform",
        "torch_index_url",
        "gpu_archs",
        "rocm",
        "cuda",
        "min_vram_gb",
        "min_ram_gb",
        "verified",
    }
)
PLATFORMS = ("amd", "nvidia", "cpu")


@dataclass(frozen=True)
class Profile:
    """A named stack: pip constraints plus where torch comes from and what hardware it expects."""

    name: str
    path: Path | None = None
    description: str = ""
    platform: str = "cpu"
    torch_index_url: str | None = None
    constraints: tuple[Requirement, ...] = ()
    gpu_archs: tuple[str, ...] = ()
    rocm: str | None = None
    cuda: str | None = None
    min_vram_gb: float | None = None
    min_ram_gb: float | None = None
    verified: str | None = None

    def constraint(self, name: str) -> Requirement | None:
        """The constraint on `name` (any spelling), or None."""
        key = canonicalize_name(name)
        return next((r for r in self.constraints if canonicalize_name(r.name) == key), None)

    @property
    def constraints_arg(self) -> str:
        """How the fix commands name this file: relative to the working directory when possible."""
        if self.path is None:
            return f"constraints/{self.name}.txt"
        try:
            return str(self.path.relative_to(Path.cwd()))
        except ValueError:
            return str(self.path)

    def torch_pin(self) -> str | None:
        """'torch==2.2.0+rocm5.7': the exact build; a bare ==2.2.0 would accept +cu121 too."""
        req = self.constraint("torch")
        return f"torch{req.specifier}" if req is not None and str(req.specifier) else None

    def torch_install_args(self) -> list[str] | None:
        """argv after `pip` that installs the profile's torch build from its index."""
        pin = self.torch_pin()
        if pin is None:
            return None
        args = ["install", pin]
        if self.torch_index_url:
            args += ["--index-url", self.torch_index_url]
        return args


def profile_dirs() -> list[Path]:
    """Profile folders: $GATOR_PROFILES_DIR, ./constraints, the source tree's, the installed copy."""
    dirs: list[Path] = []
    env = os.environ.get("GATOR_PROFILES_DIR")
    if env:
        dirs.append(Path(env))
    dirs.append(Path.cwd() / "constraints")
    dirs.append(Path(__file__).resolve().parents[2] / "constraints")
    dirs.append(Path(sys.prefix) / "share" / "gator" / "constraints")  # pip install . (data-files)
    seen: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [s.resolve() for s in seen]:
            seen.append(d)
    return seen


def available_profiles() -> dict[str, Path]:
    """name -> file for every profile found (earlier directories win)."""
    found: dict[str, Path] = {}
    for d in profile_dirs():
        for p in sorted(d.glob("*.txt")):
            if any(_META.match(line) for line in p.read_text(encoding="utf-8").splitlines()[:40]):
                found.setdefault(p.stem, p)
    return found


def _float(path: Path, key: str, value: str, line: int) -> float:
    try:
        return float(value)
    except ValueError:
        raise InputError(path, f"{key} must be a number, got {value!r}", line=line) from None


def parse_profile(path: Path) -> Profile:
    """Read one profile file; malformed lines are an InputError naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read profile: {exc}") from None
    meta: dict[str, str] = {}
    meta_lines: dict[str, int] = {}
    reqs: list[Requirement] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = _META.match(line)
        if m:
            if m.group(1) not in KNOWN_KEYS:
                raise InputError(path, f"unknown profile key {m.group(1)!r}", line=n)
            meta[m.group(1)] = m.group(2)
            meta_lines[m.group(1)] = n
            continue
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            reqs.append(Requirement(line))
        except InvalidRequirement as exc:
            raise InputError(path, f"not a pip constraint: {exc}", line=n) from None
    platform = meta.get("platform", "cpu")
    if platform not in PLATFORMS:
        raise InputError(
            path, f"platform must be one of {', '.join(PLATFORMS)}", line=meta_lines.get("platform")
        )
    return Profile(
        name=path.stem,
        path=path,
        description=meta.get("description", ""),
        platform=platform,
        torch_index_url=meta.get("torch_index_url"),
        constraints=tuple(reqs),
        gpu_archs=tuple(a.strip() for a in meta.get("gpu_archs", "").split(",") if a.strip()),
        rocm=meta.get("rocm"),
        cuda=meta.get("cuda"),
        min_vram_gb=_float(path, "min_vram_gb", meta["min_vram_gb"], meta_lines["min_vram_gb"])
        if "min_vram_gb" in meta
        else None,
        min_ram_gb=_float(path, "min_ram_gb", meta["min_ram_gb"], meta_lines["min_ram_gb"])
        if "min_ram_gb" in meta
        else None,
        verified=meta.get("verified"),
    )


def load_profile(name: str) -> Profile:
    """The profile called `name` (or a path to a profile file); unknown names list the available ones."""
    p = Path(name)
    if p.suffix == ".txt" and p.is_file():
        return parse_profile(p)
    found = available_profiles()
    if name not in found:
        err = UnknownNameError("profile", name, found)
        # Said once: the error lists the names itself unless it had close matches to offer.
        listing = f"Available: {', '.join(sorted(found))}. " if err.close_matches else ""
        err.hint = f"{listing}Use --profile NAME." if found else "No constraints/ folder found."
        raise err
    return parse_profile(found[name])
