"""Plain data of the static analysis: import references, call uses, export sets, source problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

Scope = Literal["module", "function"]


class ImportRef(NamedTuple):
    """One imported name: `from module import name` (name set) or `import module` (name None).

    `guard` says why a failure of this import would not break the importing module:
    "try" (inside try/except ImportError or a broader handler), "if" (under an `if` on
    availability or version), "type-checking" (only for type checkers), "main" (under
    `if __name__ == "__main__"`). `scope` is "function" when the import runs only when a
    function (or lambda) is called.
    """

    module: str
    name: str | None
    line: int
    guard: str | None = None
    scope: Scope = "module"
    col: int = 0

    @property
    def guarded(self) -> bool:
        return self.guard is not None

    @property
    def top(self) -> str:
        return self.module.split(".", 1)[0]

    def to_json(self) -> list[Any]:
        return [self.module, self.name, self.line, self.guard, self.scope, self.col]

    @classmethod
    def from_json(cls, data: list[Any]) -> ImportRef:
        module, name, line, guard, scope, col = data
        return cls(str(module), name, int(line), guard, scope, int(col))


class CallUse(NamedTuple):
    """A call of a provider callable with keyword arguments, or of an external command.

    kind "call": `target` is the provider-qualified callee ("huggingface_hub.hf_hub_download"),
    `keywords` the keyword names passed. kind "command": `target` is the program run through
    subprocess/os.system ("huggingface-cli").
    """

    kind: Literal["call", "command"]
    target: str
    line: int
    keywords: tuple[str, ...] = ()
    guard: str | None = None
    scope: Scope = "module"
    #: the callee was reached as an attribute of an imported module (`hh.cached_download(...)`)
    attribute: bool = False

    def to_json(self) -> list[Any]:
        return [
            self.kind,
            self.target,
            self.line,
            list(self.keywords),
            self.guard,
            self.scope,
            self.attribute,
        ]

    @classmethod
    def from_json(cls, data: list[Any]) -> CallUse:
        kind, target, line, keywords, guard, scope, *rest = data
        return cls(kind, str(target), int(line), tuple(keywords), guard, scope, bool(rest and rest[0]))


class SourceProblem(NamedTuple):
    """A file the analysis could not read or parse (reported, never raised)."""

    path: str
    message: str
    line: int | None = None


@dataclass
class FileAnalysis:
    """What one source file imports from watched providers and which provider calls it makes."""

    path: str
    module: str | None
    imports: list[ImportRef] = field(default_factory=list)
    calls: list[CallUse] = field(default_factory=list)
    problem: SourceProblem | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "module": self.module,
            "imports": [r.to_json() for r in self.imports],
            "calls": [c.to_json() for c in self.calls],
            "problem": None
            if self.problem is None
            else [self.problem.path, self.problem.message, self.problem.line],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileAnalysis:
        prob = data.get("problem")
        return cls(
            path=str(data["path"]),
            module=data.get("module"),
            imports=[ImportRef.from_json(r) for r in data.get("imports", [])],
            calls=[CallUse.from_json(c) for c in data.get("calls", [])],
            problem=None if prob is None else SourceProblem(prob[0], prob[1], prob[2]),
        )


class ExportSet(NamedTuple):
    """The names a provider module makes importable, read statically.

    `dynamic` is True when the module can produce names the static reading cannot see
    (a module `__getattr__` without a readable lazy table, an unresolvable star import, a
    compiled extension, a lazy module built from a computed structure): such a module never
    yields a "missing name" verdict, because guessing would produce false errors.
    """

    module: str
    names: frozenset[str]
    submodules: frozenset[str] = frozenset()
    dynamic: bool = False
    reason: str = ""

    def has(self, name: str) -> bool | None:
        """True/False when known; None when the module is dynamic and the name is not seen."""
        if name in self.names or name in self.submodules:
            return True
        return None if self.dynamic else False

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "names": sorted(self.names),
            "submodules": sorted(self.submodules),
            "dynamic": self.dynamic,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportSet:
        return cls(
            module=str(data["module"]),
            names=frozenset(data["names"]),
            submodules=frozenset(data["submodules"]),
            dynamic=bool(data["dynamic"]),
            reason=str(data.get("reason", "")),
        )
