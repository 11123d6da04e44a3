"""`gator models list|show` and `gator install-models`: thin shells over gator_setup.installers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gator_setup.cli.common import JsonOutputOpt, error_line, guarded
from gator_setup.cli.compat import typer_kwargs
from gator_setup.progress import activity

INSTALL_EPILOG = """Examples:

  gator install-models sdxl-1.0                      fp16 diffusers files into the HF cache

  gator install-models sdxl-1.0 --dry-run            show the files, sizes and commit; download nothing

  gator install-models sdxl-1.0 --verify load        also build the pipeline with from_pretrained

  gator install-models sdxl-1.0-checkpoint --for comfyui --models-dir ~/ComfyUI

  gator install-models --locked                      reproduce gator-models.lock exactly

  HF_ENDPOINT=http://127.0.0.1:8080 gator install-models Qwen/Qwen2.5-7B-Instruct
"""

MODELS_EPILOG = """Examples:

  gator models list            the catalog, with what fits this machine and what is installed

  gator models show sdxl-1.0   one entry in full
"""

models_app = typer.Typer(
    **typer_kwargs(),
    name="models",
    help="The model catalog: list and show entries (add your own in ~/.config/gator/models.toml).",
    no_args_is_help=True,
    rich_markup_mode=None,
    epilog=MODELS_EPILOG,
)

CatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog", help="Extra catalog file (default: $GATOR_MODELS_FILE or ~/.config/gator/models.toml)."
    ),
]


#: Colour of each fits() verdict in `models list` on a terminal.
_FIT_STYLE = {
    "yes": "\033[32m",
    "cpu": "\033[33m",
    "offload": "\033[33m",
    "no": "\033[31m",
    "unknown": "\033[2m",
}


def _colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _installed(entry: Any, cache: Path) -> str:
    snaps = cache / f"models--{entry.repo.replace('/', '--')}" / "snapshots"
    return "yes" if snaps.is_dir() and any(snaps.iterdir()) else "no"


@models_app.command("list")
@guarded
def list_models(
    catalog: CatalogOpt = None,
    json_: JsonOutputOpt = False,
) -> None:
    """Table of catalog entries: name, kind, size, fits this machine?, installed?, gated?"""
    from gator_setup.installers.catalog import fits, load_catalog
    from gator_setup.installers.install import hf_cache_dir
    from gator_setup.probes.memory import memory_facts

    cat = load_catalog(catalog)
    facts = memory_facts()
    cache = hf_cache_dir(None)
    rows = []
    for e in cat.entries.values():
        fit = fits(e, facts)
        rows.append(
            {
                "name": e.name,
                "repo": e.repo,
                "kind": e.kind,
                "size_gb": e.size_gb,
                "fits": fit.verdict,
                "fits_reason": fit.reason,
                "installed": _installed(e, cache),
                "gated": bool(e.gated),
                "license": e.license,
            }
        )
    if json_:
        sys.stdout.write(json.dumps({"schema_version": 1, "models": rows}, indent=2) + "\n")
        return
    colour = _colour()
    header = f"{'NAME':<22} {'KIND':<13} {'SIZE':>9}  {'FITS':<8} {'INSTALLED':<9} {'GATED':<5} REPO"
    sys.stdout.write((f"\033[1m{header}\033[0m" if colour else header) + "\n")
    for r in rows:
        size = f"~{r['size_gb']:g} GB" if r["size_gb"] is not None else "?"
        cell = f"{r['fits']:<8}"
        if colour:
            cell = f"{_FIT_STYLE[str(r['fits'])]}{cell}\033[0m"
        sys.stdout.write(
            f"{r['name']:<22} {r['kind']:<13} {size:>9}  {cell} {r['installed']:<9} "
            f"{'yes' if r['gated'] else 'no':<5} {r['repo']}\n"
        )
    ram = f"{facts.ram_total / 1e9:.0f} GB RAM" if facts.ram_total else "RAM unknown"
    gpu = f"GPU {facts.vram_total / 1e9:.0f} GB VRAM" if facts.vram_total else "no GPU"
    # (a hint, so on stderr: the table on stdout stays one row per model for scripts)
    print(f"this machine: {ram}, {gpu}; `gator models show NAME` says why it fits or not", file=sys.stderr)


@models_app.command("show")
@guarded
def show_model(
    name: Annotated[str, typer.Argument(help="Catalog name (see `gator models list`).")],
    catalog: CatalogOpt = None,
    json_: JsonOutputOpt = False,
) -> None:
    """Every field of one catalog entry, and whether it fits this machine (and why)."""
    from dataclasses import asdict

    from gator_setup.installers.catalog import fits, load_catalog
    from gator_setup.probes.memory import memory_facts

    entry = load_catalog(catalog).resolve(name)
    data = {k: v for k, v in asdict(entry).items() if k != "extra"}
    data["hub_url"] = entry.hub_url
    data["fits"] = str(fits(entry, memory_facts()))
    if json_:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    for key, value in data.items():
        if value in (None, (), []):
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(value)
        sys.stdout.write(f"{key:<12} {value}\n")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@guarded
def install_models_cmd(
    names: Annotated[list[str] | None, typer.Argument(help="Catalog names or org/name repo ids.")] = None,
    variant: Annotated[str | None, typer.Option("--variant", help="Weight variant, e.g. fp16.")] = None,
    models_dir: Annotated[
        Path | None, typer.Option("--models-dir", help="Install into this folder instead of the HF cache.")
    ] = None,
    for_app: Annotated[
        str | None, typer.Option("--for", help="Lay files out for an app: comfyui (needs --models-dir).")
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Hub or mirror URL (default: $HF_ENDPOINT).")
    ] = None,
    revision: Annotated[str | None, typer.Option("--revision", help="Branch, tag or commit.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Resolve and preflight; download nothing.")
    ] = False,
    verify: Annotated[str, typer.Option("--verify", help="none | checksum | load.")] = "checksum",
    locked: Annotated[
        bool, typer.Option("--locked", help="Install exactly what the lock file records.")
    ] = False,
    lock_file: Annotated[Path, typer.Option("--lock-file", help="Lock file path.")] = Path(
        "gator-models.lock"
    ),
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="HF cache folder.")] = None,
    python: Annotated[
        str | None, typer.Option("--python", help="Interpreter for --verify load (default: this one).")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            help="Seconds to wait for the server's next bytes (default: $GATOR_READ_TIMEOUT or 20).",
        ),
    ] = None,
    catalog: CatalogOpt = None,
    json_: JsonOutputOpt = False,
) -> None:
    """Install models: only the files the runtime loads, hash-checked, recorded in a lock file."""
    from gator_setup.installers.errors import fmt_bytes
    from gator_setup.installers.install import InstallOptions, install_models

    opts = InstallOptions(
        names=tuple(names or ()),
        variant=variant,
        models_dir=str(models_dir) if models_dir else None,
        for_app=for_app,
        endpoint=endpoint,
        revision=revision,
        dry_run=dry_run,
        verify=verify,
        locked=locked,
        lock_path=str(lock_file),
        cache_dir=str(cache_dir) if cache_dir else None,
        python=python,
        catalog_path=str(catalog) if catalog else None,
        timeout=timeout,
    )
    try:
        result = install_models(opts, log=_log, activity=activity)
    except KeyboardInterrupt:
        # Download threads may be blocked in a socket read; leave at once. Partial files stay as
        # .incomplete and the next run resumes them.
        error_line("interrupted; partial files are kept and the same command resumes them.")
        sys.stderr.flush()
        os._exit(130)
    if json_:
        payload = {
            "schema_version": 1,
            "dry_run": result.dry_run,
            "lock_file": result.lock_path,
            "warnings": result.warnings,
            "models": [m.__dict__ for m in result.models],
        }
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        return
    for m in result.models:
        verb = "would install" if result.dry_run else "installed"
        sys.stdout.write(
            f"{verb} {m.name}: {m.repo} @ {m.commit[:12]}, {len(m.files)} files, {fmt_bytes(m.total_bytes)}"
            f" -> {m.location}\n"
        )
        if result.dry_run:
            for f in m.files:
                sys.stdout.write(f"  {f}\n")
        elif verify != "none":
            sys.stdout.write(f"  verified: {len(m.hashes)} files match the server's hashes\n")
        if m.loaded:
            sys.stdout.write(f"  loaded: {m.loaded} (from_pretrained, offline)\n")
    if result.lock_path and not locked:
        sys.stdout.write(f"lock file: {result.lock_path}\n")


def register(app: typer.Typer) -> None:
    """Add `models` and `install-models` to the gator app."""
    app.add_typer(models_app, name="models")
    app.command("install-models", epilog=INSTALL_EPILOG)(install_models_cmd)
