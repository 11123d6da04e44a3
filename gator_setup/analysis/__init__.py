"""Static import analysis: what code imports from watched providers, and what those providers export.

Public API (stable; the knowledge-base builder reuses it):
- extract_imports(source, path, *, module=None, is_package=False, watched=None, problems=None)
- analyze_source(...) -> FileAnalysis (imports + provider calls + problem)
- provider_exports(root, module) -> ExportSet | None; ExportReader(root) memoises many modules
- Providers / Provider / providers_from_env: the installs imports resolve against
- scan_tree(path, providers) / scan_wheel(path, providers) -> ScanResult
- file_role(rel_path), import_time_modules(package, read): the "imported at run time" rule

The names are imported on first use (PEP 562): a warm `gator doctor` parses nothing, so it must
not pay for importing the parser (ast and the extraction, export and candidate modules).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gator_setup.analysis.exports import ExportReader, provider_exports
    from gator_setup.analysis.extract import analyze_source, extract_imports, module_name, needs_scan
    from gator_setup.analysis.model import CallUse, ExportSet, FileAnalysis, ImportRef, SourceProblem
    from gator_setup.analysis.providers import Provider, Providers, Unresolved, providers_from_env
    from gator_setup.analysis.runtime import file_role, import_time_modules
    from gator_setup.analysis.scan import ScanIssue, ScanResult, scan_tree, scan_wheel

#: name -> the submodule that defines it
_HOMES = {
    "ExportReader": "exports",
    "provider_exports": "exports",
    "analyze_source": "extract",
    "extract_imports": "extract",
    "module_name": "extract",
    "needs_scan": "extract",
    "CallUse": "model",
    "ExportSet": "model",
    "FileAnalysis": "model",
    "ImportRef": "model",
    "SourceProblem": "model",
    "Provider": "providers",
    "Providers": "providers",
    "Unresolved": "providers",
    "providers_from_env": "providers",
    "file_role": "runtime",
    "import_time_modules": "runtime",
    "ScanIssue": "scan",
    "ScanResult": "scan",
    "scan_tree": "scan",
    "scan_wheel": "scan",
}

__all__ = [
    "CallUse",
    "ExportReader",
    "ExportSet",
    "FileAnalysis",
    "ImportRef",
    "Provider",
    "Providers",
    "ScanIssue",
    "ScanResult",
    "SourceProblem",
    "Unresolved",
    "analyze_source",
    "extract_imports",
    "file_role",
    "import_time_modules",
    "module_name",
    "needs_scan",
    "provider_exports",
    "providers_from_env",
    "scan_tree",
    "scan_wheel",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
