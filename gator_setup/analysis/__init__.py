"""Static import analysis: what code imports from watched providers, and what those providers export.

Public API (stable; the knowledge-base builder reuses it):
- extract_imports(source, path, *, module=None, is_package=False, watched=None, problems=None)
- analyze_source(...) -> FileAnalysis (imports + provider calls + problem)
- provider_exports(root, module) -> ExportSet | None; ExportReader(root) memoises many modules
- Providers / Provider / providers_from_env: the installs imports resolve against
- scan_tree(path, providers) / scan_wheel(path, providers) -> ScanResult
- file_role(rel_path), import_time_modules(package, read): the "imported at run time" rule
"""

from gator_setup.analysis.exports import ExportReader, provider_exports
from gator_setup.analysis.extract import analyze_source, extract_imports, module_name, needs_scan
from gator_setup.analysis.model import CallUse, ExportSet, FileAnalysis, ImportRef, SourceProblem
from gator_setup.analysis.providers import Provider, Providers, Unresolved, providers_from_env
from gator_setup.analysis.runtime import file_role, import_time_modules
from gator_setup.analysis.scan import ScanIssue, ScanResult, scan_tree, scan_wheel

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
