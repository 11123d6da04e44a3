"""Provider installs (where a watched package lives, at which version) and reference resolution."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from gator_setup.analysis.exports import ExportReader
    from gator_setup.analysis.model import ImportRef

IssueKind = Literal["missing-name", "missing-module"]


class Provider(NamedTuple):
    """One installed (or unpacked) provider: its import name, distribution, version and sys.path root."""

    module: str
    dist: str
    version: str
    root: Path


class Unresolved(NamedTuple):
    """An import the installed provider cannot satisfy."""

    ref: ImportRef
    provider: Provider
    kind: IssueKind
    missing: str  # the missing name, or the missing module path


class Providers:
    """The set of providers one analysis resolves imports against (memoised export readers)."""

    def __init__(self, providers: Iterable[Provider]) -> None:
        self.by_module: dict[str, Provider] = {p.module: p for p in providers}
        self._readers: dict[str, ExportReader] = {}
        # (module, name) -> (kind, missing) or None: the same import recurs in thousands of files
        self._verdicts: dict[tuple[str, str | None], tuple[IssueKind, str] | None] = {}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.by_module.values())

    def __len__(self) -> int:
        return len(self.by_module)

    @property
    def modules(self) -> frozenset[str]:
        return frozenset(self.by_module)

    def reader(self, top: str) -> ExportReader | None:
        p = self.by_module.get(top)
        if p is None:
            return None
        if top not in self._readers:
            from gator_setup.analysis.exports import ExportReader  # (the parser: not on a warm run)

            self._readers[top] = ExportReader(p.root)
        return self._readers[top]

    def with_version(self, provider: Provider) -> Providers:
        """A copy where `provider` replaces the install of the same module."""
        out = Providers([*[p for p in self if p.module != provider.module], provider])
        return out

    def _module_state(self, reader: ExportReader, module: str) -> bool | None:
        """True: importable; False: missing; None: unknown (a dynamic ancestor may provide it)."""
        if reader.exists(module):
            return True
        parts = module.split(".")
        for i in range(1, len(parts)):
            parent = reader.exports(".".join(parts[:i]))
            if parent is None:
                return False
            if parent.dynamic:
                return None
        return False

    def resolve(self, ref: ImportRef) -> Unresolved | None:
        """Why `ref` fails against these providers, or None when it resolves (or cannot be judged)."""
        provider = self.by_module.get(ref.top)
        if provider is None:
            return None
        verdict = self._memo_verdict(ref.module, ref.name)
        return None if verdict is None else Unresolved(ref, provider, verdict[0], verdict[1])

    def resolves(self, module: str, name: str | None) -> bool:
        """`resolve(ImportRef(module, name, ...)) is None`, without building either object."""
        return module.split(".", 1)[0] not in self.by_module or self._memo_verdict(module, name) is None

    def _memo_verdict(self, module: str, name: str | None) -> tuple[IssueKind, str] | None:
        """The verdict on an import from a provider module, judged once per run."""
        key = (module, name)
        if key in self._verdicts:
            return self._verdicts[key]
        from gator_setup.analysis.model import ImportRef

        verdict = self._verdicts[key] = self._verdict(ImportRef(module, name, 0))
        return verdict

    def _verdict(self, ref: ImportRef) -> tuple[IssueKind, str] | None:
        reader = self.reader(ref.top)
        assert reader is not None
        state = self._module_state(reader, ref.module)
        if state is None:
            return None
        if state is False:
            return "missing-module", ref.module
        if ref.name is None or ref.name == "*":
            return None
        if reader.surely_exports(ref.module, ref.name) or reader.surely_dynamic(ref.module):
            return None  # proven without parsing the provider module (most imports resolve)
        exports = reader.exports(ref.module)
        if exports is None or exports.has(ref.name) is not False:
            return None
        return "missing-name", ref.name


def providers_from_env(
    watched: Mapping[str, str], dists: Mapping[str, object], sys_path: Iterable[str]
) -> Providers:
    """Find each watched provider (module -> distribution name) on `sys_path`, first match wins."""
    from gator_setup.names import canonicalize_name

    found: list[Provider] = []
    entries = [Path(p) for p in sys_path if p]
    for module, dist_name in watched.items():
        d = dists.get(canonicalize_name(dist_name))
        if d is None:
            continue
        version = str(getattr(d, "version", ""))
        dist_path = getattr(d, "path", None)
        candidates = [Path(dist_path).parent] if dist_path else []
        candidates += entries
        for root in candidates:
            if (root / module / "__init__.py").is_file() or (root / f"{module}.py").is_file():
                found.append(Provider(module, str(getattr(d, "name", dist_name)), version, root))
                break
    return Providers(found)
