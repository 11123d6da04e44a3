"""Import sites: where one package (a wheel, or an installed distribution's files) imports watched
providers at run time, unguarded and at module level, found by the engine (`scan.scan_files`).

What-if, check-pins' resolution and the knowledge-base builder judge these sites against provider
releases that are not installed; the sites themselves do not depend on the providers' versions, so
a caller analyses a package once and judges its sites against as many releases as it needs.
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from gator_setup.analysis.extract import module_name
from gator_setup.analysis.providers import Providers
from gator_setup.analysis.runtime import file_role, import_time_modules
from gator_setup.analysis.scan import scan_files

#: module -> (path inside the wheel or site-packages, source bytes, is it a package __init__)
SourceMap = dict[str, tuple[str, bytes, bool]]

#: Checkpoint-conversion scripts shipped inside packages (transformers' models/*/convert_*.py):
#: run by hand, never imported by the library, so their imports do not break an environment.
SCRIPT_PREFIXES = ("convert_",)


@dataclass(frozen=True)
class ImportSite:
    """One unguarded run-time import of a provider name by a consumer release."""

    module: str  # provider module imported from
    name: str | None  # imported name (None: `import module`)
    file: str  # path inside the wheel
    line: int
    consumer_module: str  # the consumer module that holds the import
    import_time: bool  # executed by `import <consumer>` itself


def wheel_sources(wheel: Path) -> SourceMap:
    """module -> (path in wheel, source, is_package) for every .py member."""
    out: SourceMap = {}
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if not name.endswith(".py") or ".data/" in name.split("/", 1)[0] + "/":
                continue
            mod = module_name(name)
            if mod is not None:
                out[mod[0]] = (name, zf.read(name), mod[1])
    return out


def tree_sources(root: Path, files: Iterable[str]) -> SourceMap:
    """module -> (path, source, is_package) for installed files (paths relative to site-packages)."""
    out: SourceMap = {}
    for rel in files:
        if not rel.endswith(".py") or rel.startswith(".."):
            continue
        mod = module_name(rel)
        if mod is None:
            continue
        try:
            out[mod[0]] = (rel, (root / rel).read_bytes(), mod[1])
        except OSError:
            continue  # a file listed in RECORD but gone: nothing to analyse
    return out


def _runtime(path: str) -> bool:
    return file_role(path) == "runtime" and not path.rsplit("/", 1)[-1].startswith(SCRIPT_PREFIXES)


def import_sites(
    sources: SourceMap, consumer_module: str, provider_module: str | Collection[str]
) -> list[ImportSite]:
    """Unguarded module-level imports of the provider module(s) in run-time files of one package,
    in module order. The engine reads each file once for all the providers; its imports are not
    resolved here (no provider is installed: the caller judges the sites)."""
    providers = {provider_module} if isinstance(provider_module, str) else set(provider_module)
    items = ((path, path, data, None) for _m, (path, data, _p) in sorted(sources.items()) if _runtime(path))
    found = [
        (ref, fa)
        for fa in scan_files(items, Providers(()), providers).files
        for ref in fa.imports
        if ref.top in providers and ref.guard is None and ref.scope == "module"
    ]
    if not found:
        return []
    # Only worth computing when something is imported: it parses the whole import graph.
    at_import = import_time_modules(
        consumer_module, lambda m: (sources[m][1], sources[m][2]) if m in sources else None
    )
    return [
        ImportSite(ref.module, ref.name, fa.path, ref.line, str(fa.module), fa.module in at_import)
        for ref, fa in found
    ]
