"""GTR101: names imported from watched providers exist in the installed provider versions.

Judgement (documented in docs/imports.md): an import that the code guards (try/except
ImportError, availability/version `if`, TYPE_CHECKING, `__main__`) is never reported; an
unguarded module-level import in a runtime module of an installed package is an ERROR (the
message says whether `import <package>` itself fails); an import inside a function, or in a
test/example/script file the package never imports at run time, is INFO only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import ClassVar

from gator_setup.checks.base import Check, Finding, Location, NotApplicable, Severity
from gator_setup.checks.deprecations import removal_of
from gator_setup.probes.imports import ImportIssue
from gator_setup.snapshot import EnvSnapshot

_MAX_EXAMPLES = 5


def _what(i: ImportIssue) -> str:
    if i.kind == "missing-module":
        return f"module `{i.missing}`"
    return f"`{i.missing}` from `{i.module}`"


def _cause(i: ImportIssue) -> str:
    """The root-cause key (core/causes.py): the provider lacking this very name or module."""
    from gator_setup.names import canonicalize_name

    what = f"{i.module}.{i.missing}" if i.kind == "missing-name" else i.missing
    return f"missing:{canonicalize_name(i.provider)}:{what}"


def _fix(i: ImportIssue) -> str:
    removal = removal_of(i.module, i.missing) if i.kind == "missing-name" and i.name else None
    if removal is not None:
        pin = f'pip install "{i.provider}<{removal.removed_in}"'
    elif i.origin == "project" or not i.origin_version:  # the user's own code: no release to point at
        pin = f"pin {i.provider} to a release that still has it"
    else:
        pin = f"pin {i.provider} to the release {i.origin} {i.origin_version} was built against"
    if i.origin == "project":
        repl = f" ({i.missing} -> {removal.replacement})" if removal is not None else ""
        return f"Update the import to the {i.provider} {i.provider_version} API{repl}, or {pin}."
    known = _known_fix(i)
    upgrade = f'pip install "{known}"' if known else f"pip install -U {i.origin}"
    return f"{upgrade}  (a newer release no longer imports it), or {pin}."


def _known_fix(i: ImportIssue) -> str | None:
    """The knowledge base's verified fix (e.g. the first fixed release) for this very break, if any."""
    from packaging.version import InvalidVersion, Version

    from gator_setup.knowledge.rules import default_rules
    from gator_setup.names import canonicalize_name

    if i.kind != "missing-name" or not i.origin_version or not i.provider_version:
        return None
    try:
        versions: dict[str, Version | None] = {
            canonicalize_name(i.origin): Version(i.origin_version),
            canonicalize_name(i.provider): Version(i.provider_version),
        }
    except InvalidVersion:
        return None
    symbol = f"{i.module}.{i.missing}"
    for rule in default_rules():
        if (
            symbol in (rule.symbol, *rule.symbols)
            and set(rule.packages) <= set(versions)
            and rule.matches(versions)
        ):
            return rule.fix
    return None


class ProviderImportsExist(Check):
    """Every unguarded import of a watched provider name resolves against the installed provider."""

    code: ClassVar[str] = "GTR101"
    title: ClassVar[str] = "Names imported from watched providers exist"
    category: ClassVar[str] = "imports"
    needs: ClassVar[frozenset[str]] = frozenset({"imports"})

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        facts = env.imports
        if facts is None:
            raise NotApplicable("import facts were not collected")
        errors: dict[tuple[str, str, str, str], list[ImportIssue]] = defaultdict(list)
        minor: dict[str, list[ImportIssue]] = defaultdict(list)
        unreached: dict[tuple[str, str, str, str], list[ImportIssue]] = defaultdict(list)
        for i in facts.issues:
            if i.guard is not None:
                continue  # the code handles the absence itself
            # Project code using a known removed hub API is GTR102's (it knows the replacement).
            if i.origin == "project" and removal_of(i.module, i.missing):
                continue
            if i.role == "auxiliary" or i.scope == "function":
                minor[i.origin].append(i)
            elif not i.reachable:
                unreached[(i.origin, i.provider, i.module, i.missing)].append(i)
            else:
                errors[(i.origin, i.provider, i.module, i.missing)].append(i)
        for group in errors.values():
            yield self._error(sorted(group, key=lambda x: (not x.import_time, x.path, x.line)))
        for group in unreached.values():
            yield self._unreached(sorted(group, key=lambda x: (x.path, x.line)))
        for origin, group in sorted(minor.items()):
            yield self._minor(origin, group)
        for p in facts.problems:
            project = p.subject.startswith(env.project_dir or "\0") or facts.origin == "scan"
            yield self.finding(
                Severity.WARNING if project else Severity.INFO,
                f"not analysed: {p.subject}: {p.message}",
                location=Location(p.subject) if project else None,
                fix="Fix or exclude the file ([tool.gator] exclude) so its imports are checked."
                if project
                else None,
            )

    def _error(self, group: list[ImportIssue]) -> Finding:
        i = group[0]
        provider = f"{i.provider} {i.provider_version}"
        missing = "does not have" if i.kind == "missing-module" else "does not export"
        if i.origin == "project":
            msg = f"{i.rel_path}:{i.line} imports {_what(i)}, which {provider} {missing}"
        elif i.import_time:
            top = (i.importer or i.origin).split(".", 1)[0]
            msg = (
                f"`import {top}` fails: {i.origin} {i.origin_version} imports {_what(i)} "
                f"({i.rel_path}:{i.line}), which {provider} {missing}"
            )
        else:
            msg = (
                f"{i.origin} {i.origin_version}: importing `{i.importer}` fails: it imports {_what(i)} "
                f"({i.rel_path}:{i.line}), which {provider} {missing}"
            )
        evidence = {
            "cause": _cause(i),
            "missing": i.missing,
            "provider": provider,
            "locations": ", ".join(f"{x.rel_path}:{x.line}" for x in group[:_MAX_EXAMPLES])
            + (f" (+{len(group) - _MAX_EXAMPLES} more)" if len(group) > _MAX_EXAMPLES else ""),
            "import_time": str(i.import_time).lower(),
        }
        if i.reach:
            evidence["reach"] = i.reach
        return self.finding(
            Severity.ERROR,
            msg,
            fix=_fix(i),
            packages=tuple(dict.fromkeys(p for p in (i.origin, i.provider) if p != "project")),
            location=Location(i.path, i.line),
            evidence=evidence,
        )

    def _unreached(self, group: list[ImportIssue]) -> Finding:
        """A broken import in modules nothing users import reaches: a warning, not a broken env."""
        i = group[0]
        mods = sorted({x.importer or x.rel_path for x in group})
        return self.finding(
            Severity.WARNING,
            f"{i.origin} {i.origin_version}: {len(mods)} module(s) that nothing users import reaches "
            f"import {_what(i)}, which {i.provider} {i.provider_version} does not export "
            f"(e.g. `{mods[0]}`); they fail only if run directly",
            fix=_fix(i),
            packages=(i.origin, i.provider),
            location=Location(i.path, i.line),
            evidence={
                "cause": _cause(i),
                "missing": i.missing,
                "modules": ", ".join(mods[:_MAX_EXAMPLES])
                + (f" (+{len(mods) - _MAX_EXAMPLES} more)" if len(mods) > _MAX_EXAMPLES else ""),
                "reach": i.reach,
            },
        )

    def _minor(self, origin: str, group: list[ImportIssue]) -> Finding:
        i = group[0]
        names = sorted({x.missing for x in group})
        where = ", ".join(f"{x.rel_path}:{x.line}" for x in group[:_MAX_EXAMPLES])
        who = "project" if origin == "project" else f"{origin} {i.origin_version}"
        return self.finding(
            Severity.INFO,
            f"{who}: {len(group)} import(s) of names missing from the installed providers "
            f"({', '.join(names[:_MAX_EXAMPLES])}) only in functions or test/example/script files; "
            "they fail only if that code runs",
            packages=() if origin == "project" else (origin,),
            location=Location(i.path, i.line),
            evidence={"locations": where, "providers": ", ".join(sorted({x.provider for x in group}))},
        )


CHECKS: tuple[type[Check], ...] = (ProviderImportsExist,)
