"""GTR102: removed or deprecated huggingface_hub APIs and arguments used in the project's code."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, NamedTuple

from packaging.version import InvalidVersion, Version

from gator_setup.checks.base import Check, Finding, Location, NotApplicable, Severity
from gator_setup.snapshot import EnvSnapshot

DATA_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "deprecations.toml"
HUB = "huggingface_hub"
_KINDS = ("symbol", "kwarg", "command")
_EFFECTS = ("ImportError", "TypeError", "ignored", "command-missing")
_REQUIRED = ("kind", "deprecated_in", "removed_in", "effect", "replacement", "verified")


class Deprecation(NamedTuple):
    """One removed/deprecated API (a row of knowledge/deprecations.toml)."""

    kind: str
    subject: str  # symbol name, keyword name or command
    module: str | None
    functions: tuple[str, ...]
    deprecated_in: str
    removed_in: Version
    effect: str
    replacement: str
    verified: str

    @property
    def breaks(self) -> bool:
        """After removal, does using it fail (rather than being ignored)?"""
        return self.effect != "ignored"

    def describe(self) -> str:
        if self.kind == "symbol":
            return f"`{self.module}.{self.subject}`"
        if self.kind == "kwarg":
            return f"keyword `{self.subject}=`"
        return f"the `{self.subject}` command"


def parse_deprecations(data: dict[str, object], source: str = str(DATA_FILE)) -> list[Deprecation]:
    """Validate the TOML table; a malformed entry raises ValueError naming it."""
    raw = data.get("api", [])
    if not isinstance(raw, list):
        raise ValueError(f"{source}: [[api]] must be an array of tables")
    out: list[Deprecation] = []
    for i, e in enumerate(raw, 1):
        if not isinstance(e, dict):
            raise ValueError(f"{source}: entry {i} is not a table")
        missing = [k for k in _REQUIRED if k not in e]
        kind = e.get("kind")
        if kind not in _KINDS:
            raise ValueError(f"{source}: entry {i}: kind must be one of {', '.join(_KINDS)}")
        subject_key = {"symbol": "symbol", "kwarg": "kwarg", "command": "command"}[str(kind)]
        if subject_key not in e:
            missing.append(subject_key)
        if kind == "symbol" and "module" not in e:
            missing.append("module")
        if missing:
            raise ValueError(f"{source}: entry {i} lacks {', '.join(missing)}")
        if e["effect"] not in _EFFECTS:
            raise ValueError(f"{source}: entry {i}: effect must be one of {', '.join(_EFFECTS)}")
        try:
            removed = Version(str(e["removed_in"]))
            if e["deprecated_in"]:
                Version(str(e["deprecated_in"]))
        except InvalidVersion as exc:
            raise ValueError(f"{source}: entry {i}: {exc}") from None
        out.append(
            Deprecation(
                kind=str(kind),
                subject=str(e[subject_key]),
                module=str(e["module"]) if "module" in e else None,
                functions=tuple(str(f) for f in e.get("functions", ["*"])),
                deprecated_in=str(e["deprecated_in"]),
                removed_in=removed,
                effect=str(e["effect"]),
                replacement=str(e["replacement"]),
                verified=str(e["verified"]),
            )
        )
    return out


@lru_cache(maxsize=1)
def deprecations() -> tuple[Deprecation, ...]:
    """The shipped deprecation table."""
    from gator_setup.tomlread import load_toml

    return tuple(parse_deprecations(load_toml(DATA_FILE)))


def deprecation_needles() -> tuple[tuple[bytes, str | None], ...]:
    """(bytes, module) pairs: the bytes' presence means a file may use a tabled API (so its calls
    must be analysed) if the file can refer to the module (None: any file).

    A symbol or keyword entry only matches a call or import qualified to its module, which takes
    an import naming that module or a relative import inside it; a command entry matches any
    subprocess call. Checking those needles only where they can match keeps files that merely
    share a keyword name (transformers' own `use_auth_token`) off the slow parse path.
    """
    out: set[tuple[bytes, str | None]] = set()
    for d in deprecations():
        if d.kind == "command":
            gate = None
        elif d.kind == "kwarg":
            gate = HUB
        else:
            gate = (d.module or HUB).split(".", 1)[0]
        out.add((d.subject.encode(), gate))
    return tuple(sorted(out, key=lambda p: (p[0], p[1] or "")))


#: Packages whose own code GTR102 does not judge: a provider calling its own (deprecated) API is
#: part of that provider, which ships and changes with it; it is not a user's compatibility bug.
EXEMPT_PACKAGES: frozenset[str] = frozenset({HUB})


def exempt(module: str | None) -> bool:
    """Whether a file of `module` (dotted name, None when unknown) is outside GTR102's judgement."""
    return module is not None and module.split(".", 1)[0] in EXEMPT_PACKAGES


def removal_of(module: str, name: str) -> Deprecation | None:
    """The deprecation entry for `from module import name`, if the table knows it."""
    for d in deprecations():
        if d.kind == "symbol" and d.module == module and d.subject == name:
            return d
    return None


class DeprecatedHubApis(Check):
    """Flag project code that uses hub APIs removed in (or headed for removal from) the installed hub."""

    code: ClassVar[str] = "GTR102"
    title: ClassVar[str] = "No removed or deprecated huggingface_hub APIs in project code"
    category: ClassVar[str] = "deprecations"
    needs: ClassVar[frozenset[str]] = frozenset({"imports"})

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        facts = env.imports
        if facts is None:
            raise NotApplicable("import facts were not collected")
        if env.project_dir is None and not facts.project_files:
            raise NotApplicable("no project found here (--project DIR names one)")
        hub = facts.provider(HUB)
        if hub is None:
            raise NotApplicable("huggingface_hub is not installed")
        try:
            installed: Version | None = Version(hub.version)
        except InvalidVersion:
            installed = None
        table = deprecations()
        for fa in facts.project_files:
            if exempt(fa.module):
                continue
            for ref in fa.imports:
                if ref.name is None or ref.guard in ("type-checking",):
                    continue
                for d in table:
                    if d.kind == "symbol" and d.module == ref.module and d.subject == ref.name:
                        yield self._finding(d, fa.path, ref.line, installed, hub.version, ref.guard)
            for call in fa.calls:
                for d in table:
                    if d.kind == "symbol" and call.attribute and call.target == f"{d.module}.{d.subject}":
                        yield self._finding(d, fa.path, call.line, installed, hub.version, call.guard)
                    elif d.kind == "kwarg" and call.kind == "call" and d.subject in call.keywords:
                        if not call.target.startswith(HUB + "."):
                            continue
                        func = call.target.rsplit(".", 1)[-1]
                        if "*" in d.functions or func in d.functions:
                            yield self._finding(
                                d, fa.path, call.line, installed, hub.version, call.guard, func
                            )
                    elif d.kind == "command" and call.kind == "command" and call.target == d.subject:
                        yield self._finding(d, fa.path, call.line, installed, hub.version, call.guard)

    def _finding(
        self,
        d: Deprecation,
        path: str,
        line: int,
        installed: Version | None,
        installed_text: str,
        guard: str | None,
        func: str | None = None,
    ) -> Finding:
        what = d.describe() + (f" in {func}()" if func else "")
        gone = installed is not None and installed >= d.removed_in
        effect = {
            "ImportError": "ImportError",
            "TypeError": "TypeError (unexpected keyword argument)",
            "ignored": "silently ignored (with a warning)",
            "command-missing": "the command is gone",
        }[d.effect]
        if gone:
            severity = Severity.ERROR if d.breaks else Severity.WARNING
            state = f"removed in huggingface_hub {d.removed_in} ({effect}); installed: {installed_text}"
        else:
            severity = Severity.WARNING
            since = f"deprecated since {d.deprecated_in}, " if d.deprecated_in else ""
            state = f"{since}removed in {d.removed_in} ({effect}); installed: {installed_text}"
        if guard is not None and severity is Severity.ERROR:
            severity = Severity.INFO  # the project already handles the failure
        return self.finding(
            severity,
            f"{what} is {state}",
            fix=f"Replacement: {d.replacement}."
            + (f' Until then keep "huggingface_hub<{d.removed_in}".' if gone and d.breaks else ""),
            packages=(HUB,),
            location=Location(path, line),
            evidence={"verified": d.verified, "effect": d.effect, "removed_in": str(d.removed_in)},
        )


CHECKS: tuple[type[Check], ...] = (DeprecatedHubApis,)
