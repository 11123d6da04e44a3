"""The model catalog: built-in entries (catalog.toml) plus the user's own, validated at load."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gator_setup.errors import InputError, UnknownNameError
from gator_setup.installers.errors import CatalogError
from gator_setup.probes.memory import MemoryFacts
from gator_setup.tomlread import load_toml

KINDS = ("diffusers", "transformers", "single-file", "voice")
REPO_RE = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
BUILTIN_PATH = Path(__file__).with_name("catalog.toml")
#: Where users add entries; overridable for tests and per-project catalogs.
USER_CATALOG_ENV = "GATOR_MODELS_FILE"

#: key -> (accepted types, required)
_KEYS: dict[str, tuple[tuple[type, ...], bool]] = {
    "repo": ((str,), True),
    "kind": ((str,), True),
    "revision": ((str,), False),
    "variant": ((str,), False),
    "dtype": ((str,), False),
    "include": ((list,), False),
    "exclude": ((list,), False),
    "size_gb": ((int, float), False),
    "min_vram_gb": ((int, float), False),
    "min_ram_gb": ((int, float), False),
    "license": ((str,), False),
    "gated": ((bool,), False),
    "comfyui": ((str,), False),
    "notes": ((str,), False),
}


@dataclass(frozen=True)
class ModelEntry:
    """One installable model: where it lives on the Hub and what to fetch."""

    name: str
    repo: str
    kind: str
    revision: str | None = None
    variant: str | None = None
    dtype: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    size_gb: float | None = None
    min_vram_gb: float | None = None
    min_ram_gb: float | None = None
    license: str | None = None
    gated: bool | None = None
    comfyui: str | None = None
    notes: str | None = None
    source: str = "built-in"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def hub_url(self) -> str:
        """The model page (where gated licences are accepted)."""
        return f"https://huggingface.co/{self.repo}"


def user_catalog_path() -> Path:
    """`$GATOR_MODELS_FILE`, else `<user config dir>/gator/models.toml` (~/.config/gator on Linux)."""
    env = os.environ.get(USER_CATALOG_ENV)
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("gator", appauthor=False)) / "models.toml"


def parse_entry(name: str, table: Any, source: str) -> ModelEntry:
    """Validate one `[models.NAME]` table; errors name the file and the key."""
    where = f"[models.{name}]"
    if not isinstance(table, dict):
        raise CatalogError(f"{source}: {where} must be a table")
    for key, value in table.items():
        if key not in _KEYS:
            raise CatalogError(f"{source}: unknown key {key!r} in {where} (known: {', '.join(_KEYS)})")
        types, _ = _KEYS[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise CatalogError(f"{source}: {where} {key} must be {' or '.join(t.__name__ for t in types)}")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise CatalogError(f"{source}: {where} {key} must be a list of strings")
    for key, (_, required) in _KEYS.items():
        if required and key not in table:
            raise CatalogError(f"{source}: {where} is missing {key!r}")
    repo, kind = table["repo"], table["kind"]
    if not REPO_RE.match(repo):
        raise CatalogError(f"{source}: {where} repo {repo!r} is not an 'org/name' Hub id")
    if kind not in KINDS:
        raise CatalogError(f"{source}: {where} kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind in ("single-file", "voice") and not table.get("include"):
        raise CatalogError(f"{source}: {where} kind {kind!r} needs include = [...] (the files to fetch)")
    rev = table.get("revision")
    if rev is not None and not SHA_RE.match(rev):
        raise CatalogError(f"{source}: {where} revision must be a 40-hex commit sha, got {rev!r}")

    def num(key: str) -> float | None:
        v = table.get(key)
        return float(v) if v is not None else None

    return ModelEntry(
        name=name,
        repo=repo,
        kind=kind,
        revision=rev,
        variant=table.get("variant"),
        dtype=table.get("dtype"),
        include=tuple(table.get("include", ())),
        exclude=tuple(table.get("exclude", ())),
        size_gb=num("size_gb"),
        min_vram_gb=num("min_vram_gb"),
        min_ram_gb=num("min_ram_gb"),
        license=table.get("license"),
        gated=table.get("gated"),
        comfyui=table.get("comfyui"),
        notes=table.get("notes"),
        source=source,
    )


def _load_file(path: Path, source: str) -> dict[str, ModelEntry]:
    try:
        data = load_toml(path)
    except InputError as exc:
        raise CatalogError(str(exc)) from None
    models = data.get("models", {})
    unknown = set(data) - {"models"}
    if unknown:
        raise CatalogError(
            f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}; use [models.NAME]"
        )
    if not isinstance(models, dict):
        raise CatalogError(f"{path}: [models] must be a table of [models.NAME] tables")
    return {name: parse_entry(name, table, source) for name, table in models.items()}


@dataclass(frozen=True)
class Catalog:
    """All known entries; user entries override built-in ones of the same name."""

    entries: Mapping[str, ModelEntry]

    def names(self) -> list[str]:
        """Entry names in catalog order."""
        return list(self.entries)

    def resolve(self, name: str) -> ModelEntry:
        """A catalog name, or any `org/name` repo id (installed as its detected kind)."""
        if name in self.entries:
            return self.entries[name]
        lowered = {k.lower(): v for k, v in self.entries.items()}
        if name.lower() in lowered:
            return lowered[name.lower()]
        if REPO_RE.match(name):
            for entry in self.entries.values():
                if entry.repo.lower() == name.lower() and entry.kind in ("diffusers", "transformers"):
                    return entry
            return ModelEntry(name=name, repo=name, kind="auto", source="command line")
        raise UnknownNameError(
            "model",
            name,
            self.entries,
            hint="`gator models list` shows the catalog; any org/name also works.",
        )


def load_catalog(user_path: Path | None = None) -> Catalog:
    """Built-in catalog plus the user's file (when it exists)."""
    entries = _load_file(BUILTIN_PATH, "built-in")
    path = user_path if user_path is not None else user_catalog_path()
    if path.is_file():
        entries.update(_load_file(path, str(path)))
    return Catalog(entries)


def markdown_table(catalog: Catalog) -> str:
    """The catalog as a Markdown table (docs/models.md embeds it; a test keeps the two in sync)."""
    rows = [
        "| name | repo | kind | download (approx.) | min VRAM | licence | gated |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in catalog.entries.values():
        size = f"{e.size_gb:g} GB" if e.size_gb is not None else "?"
        vram = f"{e.min_vram_gb:g} GB" if e.min_vram_gb else "CPU"
        gated = "yes" if e.gated else "no"
        rows.append(f"| {e.name} | `{e.repo}` | {e.kind} | {size} | {vram} | {e.license or '?'} | {gated} |")
    return "\n".join(rows) + "\n"


#: fits() verdicts, best first: runs on the GPU / on the CPU only / on the GPU with CPU offload /
#: does not fit / not known (RAM could not be read).
FIT_VERDICTS = ("yes", "cpu", "offload", "no", "unknown")


@dataclass(frozen=True)
class Fit:
    """Whether a model runs on this machine, and why, with the numbers."""

    verdict: str
    reason: str

    def __str__(self) -> str:
        return f"{self.verdict}: {self.reason}"


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.0f} GB"


def fits(entry: ModelEntry, memory: MemoryFacts) -> Fit:
    """Compare what `entry` needs (VRAM on the largest GPU, which would run it; RAM to load it, and
    for the CPU or offload) with this machine. The catalog's figures are GB (10^9 bytes)."""
    ram, vram = memory.ram_total, memory.vram_total
    need_vram = (entry.min_vram_gb or 0) * 1e9
    # Without a RAM figure, the weights themselves must at least fit in memory.
    need_ram = (entry.min_ram_gb or entry.size_gb or 0) * 1e9
    if ram is not None and need_ram > ram:
        return Fit("no", f"needs {_gb(need_ram)} RAM, this machine has {_gb(ram)}")
    if vram is not None and need_vram <= vram:
        if not need_vram:
            return Fit("yes", "small enough for the CPU or any GPU")
        return Fit("yes", f"needs {_gb(need_vram)} VRAM, the GPU has {_gb(vram)}")
    if ram is None:
        return Fit("unknown", "this machine's RAM could not be read")
    ram_note = f"needs {_gb(need_ram)} RAM, this machine has {_gb(ram)}"
    if vram is None and memory.gpu_names:
        return Fit("unknown", f"the GPU's memory could not be read ({ram_note})")
    if vram is None:
        if not need_vram:
            return Fit("yes", f"runs on the CPU ({ram_note})")
        return Fit("cpu", f"no GPU found: runs on the CPU, slowly ({ram_note})")
    return Fit(
        "offload",
        f"needs {_gb(need_vram)} VRAM, the GPU has {_gb(vram)}: runs with CPU offload ({ram_note})",
    )
