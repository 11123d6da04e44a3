"""Known-bad combinations: typed, validated Rule objects loaded from the TOML data files."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from gator_setup.names import canonicalize_name

if TYPE_CHECKING:
    # (packaging.requirements and .markers are imported where used: with packaging.tags they cost
    # a warm doctor about a fifth of its run, and the shipped rules need neither to load)
    from packaging.markers import Marker
    from packaging.requirements import Requirement

from gator_setup.errors import InputError
from gator_setup.findings import Severity

KNOWLEDGE_DIR = Path(__file__).parent
#: Hand-verified rules first, then the builder's output (tools/build_kb.py).
DEFAULT_FILES: tuple[str, ...] = ("rules.toml", "generated_rules.toml")
SCHEMA_VERSION = 1

_RULE_KEYS = {
    "id",
    "title",
    "severity",
    "packages",
    "declared",
    "error",
    "fails_at",
    "fix",
    "alternatives",
    "explanation",
    "references",
    "supersedes",
    "python",
    "marker",
    "fact_only",
    "reproduction",
    "provenance",
    "symbol",
    "symbols",
    "cause",
}
_REQUIRED = ("id", "title", "severity", "packages", "error", "fix")
_REPRO_KEYS = {"date", "python", "run", "cases"}
_CASE_KEYS = {"install", "expect", "observed"}


class ReproCase(NamedTuple):
    """One verified venv: what was installed, whether the run failed, and the line it printed."""

    install: tuple[str, ...]
    #: "fail": fails with the rule's error; "ok": runs; "other": fails with another rule's error.
    expect: str
    observed: str

    def pins(self) -> dict[str, Version]:
        """Exact `name==version` pins of this case (other requirements are left out)."""
        from packaging.requirements import Requirement

        out: dict[str, Version] = {}
        for raw in self.install:
            req = Requirement(raw)
            specs = list(req.specifier)
            if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
                out[canonicalize_name(req.name)] = Version(specs[0].version)
        return out


class Reproduction(NamedTuple):
    """How a rule was verified: the interpreter, the code run, the cases and the date."""

    date: str
    python: str
    run: str
    cases: tuple[ReproCase, ...]

    def commands(self, case: ReproCase, venv: str = "/tmp/x") -> str:
        """The exact shell commands that reproduce one case."""
        import shlex

        install = " ".join(shlex.quote(r) for r in case.install)
        return (
            f"uv venv {venv} --python {self.python} && "
            f"uv pip install --python {venv}/bin/python {install} && "
            f"{venv}/bin/python -c {shlex.quote(self.run)}"
        )


@dataclass(frozen=True)
class Rule:
    """A verified known-bad combination of package versions."""

    id: str
    title: str
    severity: Severity
    packages: Mapping[str, SpecifierSet]  # canonical name -> range that breaks
    error: str
    fix: str
    source: str
    declared: tuple[str, ...] = ()
    fails_at: str = ""
    alternatives: tuple[str, ...] = ()
    explanation: str = ""
    references: tuple[str, ...] = ()
    supersedes: tuple[str, ...] = ()
    python: SpecifierSet | None = None
    marker: Marker | None = None
    fact_only: bool = False
    reproduction: Reproduction | None = None
    provenance: Mapping[str, str] = field(default_factory=dict)
    #: The provider name whose absence causes the break ("huggingface_hub.cached_download").
    symbol: str = ""
    #: Every provider name missing in this combination (generated rules merge names missing together).
    symbols: tuple[str, ...] = ()
    #: Root-cause key shared with the checks that see the same break ("numpy-abi:torch").
    cause: str = ""
    #: Canonical name -> the spelling used in the data file (for messages).
    display_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def cause_key(self) -> str:
        """The root-cause key (core/causes.py): `cause`, else the provider lacking `symbol`."""
        if self.cause:
            return self.cause
        sym = self.symbol or (self.symbols[0] if self.symbols else "")
        if sym:
            return f"missing:{canonicalize_name(sym.split('.', 1)[0])}:{sym}"
        return f"rule:{self.id}"

    def display(self, name: str) -> str:
        return self.display_names.get(name, name)

    @property
    def fix_requirement(self) -> Requirement | None:
        from packaging.requirements import InvalidRequirement, Requirement

        try:
            return Requirement(self.fix)
        except InvalidRequirement:
            return None

    def combination(self) -> str:
        """`diffusers<0.29.0 with huggingface_hub>=0.26.0`."""
        return " with ".join(
            f"{self.display(name)}{format_spec(spec)}" for name, spec in self.packages.items()
        )

    def applies_to_python(self, python_version: str | None, marker_env: Mapping[str, str] | None) -> bool:
        """Whether the rule's optional python range and marker hold for an interpreter."""
        if self.python is not None and python_version is not None:
            try:
                if not self.python.contains(Version(python_version), prereleases=True):
                    return False
            except InvalidVersion:
                pass
        if self.marker is not None and marker_env is not None:
            return bool(self.marker.evaluate(dict(marker_env)))
        return True

    def matches(self, versions: Mapping[str, Version | None]) -> bool:
        """True when every package of the rule is present at a version inside its range."""
        for name, spec in self.packages.items():
            v = versions.get(name)
            if v is None or not spec.contains(v, prereleases=True):
                return False
        return True

    def reproduction_summary(self) -> str:
        """One line per failing case: the commands and what they printed."""
        if self.reproduction is None:
            return ""
        lines = [f"verified {self.reproduction.date}, Python {self.reproduction.python}:"]
        for case in self.reproduction.cases:
            lines.append(f"  [{case.expect}] {' '.join(case.install)} -> {case.observed}")
        return "\n".join(lines)

    def proof_evidence(self) -> dict[str, str]:
        """The evidence every finding of this rule carries: how it was reproduced, the commands to
        reproduce the failure, and where the fact came from."""
        ev: dict[str, str] = {}
        if self.reproduction is not None:
            ev["reproduction"] = self.reproduction_summary()
            failing = [c for c in self.reproduction.cases if c.expect == "fail"]
            if failing:
                ev["reproduce_with"] = self.reproduction.commands(failing[0])
        if self.provenance:
            ev["provenance"] = "; ".join(f"{k}={v}" for k, v in self.provenance.items())
        return ev


def format_spec(spec: SpecifierSet) -> str:
    """`>=0.36.0,<0.41.0`: lower bounds first (packaging sorts by string)."""
    order = {">=": 0, ">": 0, "==": 1, "===": 1, "~=": 1, "<": 2, "<=": 2, "!=": 3}
    return ",".join(str(s) for s in sorted(spec, key=lambda s: (order.get(s.operator, 4), str(s))))


def _err(path: Path, rule_id: str | None, problem: str) -> InputError:
    where = f"rule {rule_id!r}: " if rule_id else ""
    return InputError(path, f"{where}{problem}")


def _str_list(path: Path, rid: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _err(path, rid, f"{key} must be a list of strings")
    return tuple(value)


def _requirement_problem(text: str) -> str | None:
    """Why `text` is not a PEP 508 requirement (None when it is)."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(text)
    except InvalidRequirement as exc:
        return str(exc)
    return None


def _reproduction(path: Path, rid: str, data: Any, *, trusted: bool = False) -> Reproduction:
    if not isinstance(data, dict):
        raise _err(path, rid, "reproduction must be a table")
    unknown = set(data) - _REPRO_KEYS
    if unknown:
        raise _err(path, rid, f"unknown reproduction key(s): {', '.join(sorted(unknown))}")
    for key in ("date", "python", "run"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise _err(path, rid, f"reproduction.{key} must be a non-empty string")
    cases_raw = data.get("cases")
    if not isinstance(cases_raw, list) or not cases_raw:
        raise _err(path, rid, "reproduction.cases must be a non-empty list")
    cases: list[ReproCase] = []
    for i, c in enumerate(cases_raw):
        if not isinstance(c, dict) or set(c) - _CASE_KEYS:
            raise _err(path, rid, f"reproduction case {i} must have only {', '.join(sorted(_CASE_KEYS))}")
        install = _str_list(path, rid, f"case {i} install", c.get("install"))
        for r in () if trusted else install:
            problem = _requirement_problem(r)
            if problem is not None:
                raise _err(path, rid, f"case {i}: invalid requirement {r!r}: {problem}")
        if c.get("expect") not in ("fail", "ok", "other"):
            raise _err(path, rid, f"case {i}: expect must be 'fail', 'ok' or 'other'")
        if not isinstance(c.get("observed"), str):
            raise _err(path, rid, f"case {i}: observed must be a string")
        cases.append(ReproCase(install, c["expect"], c["observed"]))
    return Reproduction(data["date"], data["python"], data["run"], tuple(cases))


def parse_rule(path: Path, data: Any, *, trusted: bool = False) -> Rule:
    """Validate one [[rule]] table; any problem is an InputError naming the file and rule.

    `trusted`: a file shipped in the package, whose requirement strings (fix, alternatives,
    reproduction installs) tests/knowledge validate in full; they are not parsed again on every
    run (packaging's requirement parser is a fifth of a warm doctor). Everything else still is."""
    if not isinstance(data, dict):
        raise _err(path, None, "each [[rule]] must be a table")
    rid = data.get("id") if isinstance(data.get("id"), str) else None
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise _err(path, rid, f"missing key(s): {', '.join(missing)}")
    unknown = set(data) - _RULE_KEYS
    if unknown:
        raise _err(path, rid, f"unknown key(s): {', '.join(sorted(unknown))}")
    assert rid is not None
    for key in ("title", "error", "fix"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise _err(path, rid, f"{key} must be a non-empty string")
    try:
        severity = Severity.parse(str(data["severity"]))
    except ValueError as exc:
        raise _err(path, rid, str(exc)) from None
    pk = data["packages"]
    if not isinstance(pk, dict) or not pk:
        raise _err(path, rid, "packages must be a non-empty table of name = specifier")
    packages: dict[str, SpecifierSet] = {}
    for name, spec in pk.items():
        try:
            packages[canonicalize_name(name)] = SpecifierSet(str(spec))
        except InvalidSpecifier:
            raise _err(path, rid, f"invalid specifier {spec!r} for {name}") from None
    declared = tuple(
        canonicalize_name(n) for n in _str_list(path, rid, "declared", data.get("declared", list(pk)))
    )
    for n in declared:
        if n not in packages:
            raise _err(path, rid, f"declared package {n!r} is not in packages")
    fact_only = bool(data.get("fact_only", False))
    if not fact_only and not trusted and _requirement_problem(data["fix"]) is not None:
        problem = f"fix {data['fix']!r} is not a requirement (e.g. 'diffusers>=0.29.0')"
        raise _err(path, rid, problem)
    alternatives = _str_list(path, rid, "alternatives", data.get("alternatives", []))
    for alt in () if trusted else alternatives:
        if _requirement_problem(alt) is not None:
            raise _err(path, rid, f"alternative {alt!r} is not a requirement")
    python = None
    if data.get("python"):
        try:
            python = SpecifierSet(str(data["python"]))
        except InvalidSpecifier:
            raise _err(path, rid, f"invalid python specifier {data['python']!r}") from None
    marker = None
    if data.get("marker"):
        from packaging.markers import InvalidMarker, Marker

        try:
            marker = Marker(str(data["marker"]))
        except InvalidMarker as exc:
            raise _err(path, rid, f"invalid marker: {exc}") from None
    repro = (
        _reproduction(path, rid, data["reproduction"], trusted=trusted) if "reproduction" in data else None
    )
    prov = data.get("provenance", {})
    if not isinstance(prov, dict):
        raise _err(path, rid, "provenance must be a table")
    if repro is None and not prov:
        raise _err(path, rid, "a rule needs a reproduction (hand-written) or provenance (generated)")
    return Rule(
        id=rid,
        title=data["title"],
        severity=severity,
        packages=packages,
        error=data["error"],
        fix=data["fix"],
        source=str(path),
        declared=declared,
        fails_at=str(data.get("fails_at", "")),
        alternatives=alternatives,
        explanation=str(data.get("explanation", "")).strip(),
        references=_str_list(path, rid, "references", data.get("references", [])),
        supersedes=_str_list(path, rid, "supersedes", data.get("supersedes", [])),
        python=python,
        marker=marker,
        fact_only=fact_only,
        reproduction=repro,
        provenance={str(k): str(v) for k, v in prov.items()},
        display_names={canonicalize_name(n): n for n in pk},
        symbol=str(data.get("symbol", "")),
        symbols=_str_list(path, rid, "symbols", data.get("symbols", [])),
        cause=str(data.get("cause", "")),
    )


def load_rule_file(path: str | Path, *, trusted: bool = False) -> list[Rule]:
    """Load and validate one rules file (`trusted`: shipped in the package, see parse_rule)."""
    from gator_setup.tomlread import load_toml

    p = Path(path)
    data = load_toml(p)
    if data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise InputError(p, f"unsupported schema_version {data.get('schema_version')!r}")
    raw = data.get("rule", [])
    if not isinstance(raw, list):
        raise InputError(p, "'rule' must be an array of tables ([[rule]])")
    return [parse_rule(p, r, trusted=trusted) for r in raw]


def load_rules(paths: Iterable[str | Path] | None = None) -> list[Rule]:
    """All rules from the given files (default: the shipped ones); ids must be unique."""
    files = [KNOWLEDGE_DIR / f for f in DEFAULT_FILES] if paths is None else [Path(p) for p in paths]
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for f in files:
        if paths is None and not f.exists():
            continue
        for r in load_rule_file(f, trusted=paths is None):
            if r.id in seen:
                raise InputError(f, f"rule {r.id!r} is defined twice (also in {seen[r.id]})")
            seen[r.id] = str(f)
            rules.append(r)
    ids = set(seen)
    for r in rules:
        for s in r.supersedes:
            if s not in ids:
                raise InputError(r.source, f"rule {r.id!r}: supersedes unknown rule {s!r}")
    return rules


@functools.lru_cache(maxsize=1)
def default_rules() -> tuple[Rule, ...]:
    """The shipped rules, loaded once per process."""
    return tuple(load_rules())


def matching_rules(
    rules: Iterable[Rule],
    versions: Mapping[str, Version | None],
    *,
    python_version: str | None = None,
    marker_env: Mapping[str, str] | None = None,
    include_fact_only: bool = False,
) -> list[Rule]:
    """Rules whose combination the given versions hit; a rule superseded by another hit is dropped."""
    hits = [
        r
        for r in rules
        if (include_fact_only or not r.fact_only)
        and r.applies_to_python(python_version, marker_env)
        and r.matches(versions)
    ]
    shadowed = {s for r in hits for s in r.supersedes}
    return [r for r in hits if r.id not in shadowed]


def markdown_table(rules: Iterable[Rule]) -> str:
    """The docs table of hand-verified rules (docs/knowledge.md is tested to match it)."""
    lines = [
        "| rule | broken combination | users see | fix | verified cases |",
        "|---|---|---|---|---|",
    ]
    for r in rules:
        if r.reproduction is None:
            continue
        cases = r.reproduction.cases
        n_fail = sum(1 for c in cases if c.expect == "fail")
        combo = r.combination().replace(",", ", ")
        fix = " or ".join(f"`{f}`" for f in (r.fix, *r.alternatives))
        lines.append(
            f"| `{r.id}` | {combo} | `{r.error}` | {fix} | {n_fail} failing, "
            f"{len(cases) - n_fail} boundary ({r.reproduction.date}) |"
        )
    return "\n".join(lines)
