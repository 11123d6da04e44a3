"""Verified fixes: every error's fix is resolved against the environment and re-analysed before it is shown.

For each root cause (core/causes.py) the candidates are generated narrowest first: the first fixed
release of the importing package capped to its minor, a cap on the provider below the release that
removed the name, `numpy<2` for a numpy-1.x build, then the knowledge base's fixes and open-ended
upgrades. Each candidate is resolved with the environment as it stands (uv, else pip's dry-run report;
nothing is installed), and the resolved set is analysed the way `--what-if` does: the candidate is
verified when the cause is gone and the change introduces no error (no unsatisfied requirement, no
known-bad rule, no import that stops resolving). Of the verified ones the one that moves the fewest
distributions is shown; others follow as alternatives; when none verifies the best guess is shown
labelled "unverified", with the reason.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gator_setup.envfacts import Distribution
from gator_setup.findings import CheckResult, Finding, Severity
from gator_setup.probes.resolver import Change, ResolveError
from gator_setup.snapshot import EnvSnapshot

if TYPE_CHECKING:
    from gator_setup.core.whatif import SiteMemo

Resolver = Callable[[str, list[str]], list[Change]]
#: Candidates tried per cause at most (each costs one resolver run).
MAX_CANDIDATES = 5


@dataclass(frozen=True)
class FixOutcome:
    """One candidate requirement and what verifying it showed."""

    requirement: str
    verified: bool
    reason: str
    changes: tuple[Change, ...] = ()

    @property
    def command(self) -> str:
        return f'pip install "{self.requirement}"'

    def moves(self) -> str:
        return ", ".join(f"{c.name} {c.old or '(new)'} -> {c.new or '(removed)'}" for c in self.changes)


@dataclass
class FixPlanEntry:
    """The fix chosen for one cause (its lead finding), with the alternatives tried."""

    finding: Finding
    chosen: FixOutcome | None
    tried: list[FixOutcome] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.chosen is not None and self.chosen.verified


def _cause_parts(f: Finding) -> tuple[str, str, str]:
    kind, _, rest = f.evidence.get("cause", "").partition(":")
    subject, _, what = rest.partition(":")
    return kind, subject, what


def _version(env: EnvSnapshot, name: str) -> Version | None:
    d = env.dist(name)
    return d.parsed_version if d else None


def _next_minor(v: Version) -> str:
    rel = (*v.release, 0, 0)
    return f"{rel[0]}.{rel[1] + 1}"


def _narrowed(req: str) -> list[str]:
    """`pkg>=X` -> [`pkg>=X,<X.minor+1`, `pkg>=X`]: the first fixed minor before an open upgrade."""
    try:
        r = Requirement(req)
    except InvalidRequirement:
        return [req]
    lows = [s for s in r.specifier if s.operator == ">="]
    if len(lows) == 1 and len(r.specifier) == 1:
        try:
            low = Version(lows[0].version)
        except InvalidVersion:
            return [req]
        return [f"{r.name}>={low},<{_next_minor(low)}", req]
    return [req]


def _rule_fixes(group: Iterable[Finding]) -> list[str]:
    from gator_setup.knowledge.rules import default_rules

    ids = {f.evidence.get("rule") for f in group if f.code == "GTR110"}
    out: list[str] = []
    for rule in default_rules():
        if rule.id in ids:
            out += [rule.fix, *rule.alternatives]
    return out


def candidates(env: EnvSnapshot, lead: Finding) -> list[str]:
    """Fix requirements for the cause of `lead`, narrowest first (not yet verified)."""
    from gator_setup.checks.deprecations import removal_of

    group = [lead, *lead.related]
    kind, subject, what = _cause_parts(lead)
    out: list[str] = []
    if kind == "missing":
        provider = subject
        module, _, name = what.rpartition(".")
        errors = [f for f in group if f.severity >= Severity.ERROR]
        origins = [p for f in errors for p in f.packages if canonicalize_name(p) != provider]
        known = [*_rule_fixes(group)]
        for f in group:
            if f.fix and 'pip install "' in f.fix:
                known.append(f.fix.split('pip install "', 1)[1].split('"', 1)[0])
        for req in known:
            out += _narrowed(req)
        removal = removal_of(module, name) if module and name else None
        pv = _version(env, provider)
        if removal is not None:
            out.append(f"{provider}<{removal.removed_in}")
        elif pv is not None:
            out.append(f"{provider}<{pv}")
        for o in dict.fromkeys(origins):
            ov = _version(env, o)
            if ov is not None:
                out.append(f"{o}>{ov}")
    elif kind == "backend-gate":
        out.append(f"{subject}>={what}")
    elif kind == "numpy-abi":
        out += ["numpy<2", *_rule_fixes(group)]
        dv = _version(env, subject)
        if dv is not None:
            out.append(f"{subject}>{dv}")
    else:
        out += [r for req in _rule_fixes(group) for r in _narrowed(req)]
    # The same requirement spelled two ways (huggingface_hub<0.26 / huggingface-hub<0.26.0) once.
    seen: set[object] = set()
    uniq = []
    for req in out:
        if _req_key(req) not in seen:
            seen.add(_req_key(req))
            uniq.append(req)
    return uniq[:MAX_CANDIDATES]


def _req_key(req: str) -> object:
    try:
        r = Requirement(req)
        return (canonicalize_name(r.name), frozenset((s.operator, Version(s.version)) for s in r.specifier))
    except (InvalidRequirement, InvalidVersion):
        return req


#: What uv and pip print when the index cannot be reached (DNS, refused, timed out, offline mode).
_NETWORK_FAILURE = re.compile(
    r"did not answer|timed? ?out|connect|dns|resolve host|network|offline"
    r"|Failed to fetch|Could not fetch|unreachable",
    re.I,
)


class _Verifier:
    """Resolves and re-analyses candidates for one environment (wheels and sites cached across them)."""

    def __init__(self, env: EnvSnapshot, resolver: Resolver, offline: bool) -> None:
        from gator_setup.core.whatif import wheel_cache_dir
        from gator_setup.knowledge.builder import WheelCache

        self.env = env
        self.resolver = resolver
        py = ".".join(env.interpreter.version.split(".")[:2])
        self.cache = WheelCache(wheel_cache_dir(), offline=offline, python_version=py)
        self.memo: SiteMemo = {}
        self.resolves = 0
        #: Set once a resolve fails for want of a network: later candidates are not tried.
        self.unreachable = ""

    def verify(self, lead: Finding, req: str) -> FixOutcome:
        from gator_setup.core.whatif import WhatIfOptions, after_distributions, run_what_if

        if self.unreachable:
            # One resolve that could not reach the index is enough: the next would wait as long.
            return FixOutcome(req, False, f"not checked: {self.unreachable}")
        try:
            self.resolves += 1
            changes = self.resolver(self.env.interpreter.executable, [req])
        except ResolveError as exc:
            if _NETWORK_FAILURE.search(str(exc)):
                self.unreachable = f"the package index could not be reached ({exc})"
                return FixOutcome(req, False, f"not checked: {self.unreachable}")
            return FixOutcome(req, False, f"the resolver refused it: {exc}")
        if not changes:
            return FixOutcome(req, False, "the resolver changes nothing")
        try:
            report = run_what_if(
                WhatIfOptions((req,), offline=self.cache.offline),
                resolver=lambda _py, _reqs: changes,
                snapshot=self.env,
            )
            after, wheels, _notes = after_distributions(self.env, changes, self.cache)
        except Exception as exc:  # a wheel that cannot be fetched or read: not verified
            return FixOutcome(req, False, f"could not analyse the result: {exc}", tuple(changes))
        introduced = [f for f in report.findings if f.severity >= Severity.ERROR]
        if introduced:
            return FixOutcome(req, False, f"it would break: {introduced[0].message}", tuple(changes))
        left = self._cause_left(lead, after, wheels)
        if left:
            return FixOutcome(req, False, left, tuple(changes))
        return FixOutcome(req, True, "resolved and re-analysed: no error left", tuple(changes))

    def _cause_left(
        self, lead: Finding, after: Mapping[str, Distribution], wheels: Mapping[str, Path]
    ) -> str:
        """Why the cause would still be there after the change ('' when it is gone)."""
        from gator_setup.analysis.numpy_abi import wheel_numpy_major
        from gator_setup.knowledge.rules import default_rules, matching_rules

        versions = {k: d.parsed_version for k, d in after.items()}
        group = [lead, *lead.related]
        rule_ids = {f.evidence.get("rule") for f in group if f.code == "GTR110"}
        still = [r.id for r in matching_rules(default_rules(), versions) if r.id in rule_ids]
        if still:
            return f"the known-bad rule {still[0]} still matches"
        kind, subject, what = _cause_parts(lead)
        if kind == "missing":
            return self._name_left(subject, what, group, after, wheels)
        if kind == "backend-gate":
            backend = versions.get(canonicalize_name(subject))
            if backend is None or backend.release >= Version(what).release:
                return ""
            return f"{subject} {backend} is still below {what}"
        if kind == "numpy-abi":
            numpy = versions.get("numpy")
            if numpy is not None and numpy.major < 2:
                return ""
            if rule_ids:  # a verified rule speaks for this package (torch): it no longer matches
                return ""
            d = after.get(canonicalize_name(subject))
            before = self.env.dist(subject)
            if d is None:
                return ""
            if before is not None and d.version == before.version:
                return f"{subject} {d.version} is still built against numpy 1.x"
            try:
                wheel = self.cache.wheel(subject, Version(d.version))
            except Exception as exc:
                return f"could not read the {subject} {d.version} wheel: {exc}"
            if wheel is None:
                return f"no wheel of {subject} {d.version} to read"
            if (wheel_numpy_major(wheel) or 2) < 2:
                return f"{subject} {d.version} is built against numpy 1.x too"
            return ""
        return "" if rule_ids else "gator cannot re-check this kind of finding"

    def _name_left(
        self,
        provider: str,
        what: str,
        group: list[Finding],
        after: Mapping[str, Distribution],
        wheels: Mapping[str, Path],
    ) -> str:
        from gator_setup.core.whatif import _broken_imports, _release, _Side

        module, _, name = what.rpartition(".")
        side = _Side(after, wheels)
        root = side.provider_root(module.split(".")[0] if module else what, self.cache)
        if root is not None and module:
            try:  # (_release: the provider's exports are read once for all the candidates)
                if _release(root[0], root[1]).provides(module, name):
                    return ""
            except (InvalidVersion, OSError):
                pass
        errors = [f for f in group if f.severity >= Severity.ERROR]
        for f in errors:
            for origin in f.packages:
                key = canonicalize_name(origin)
                if key == provider or key not in after:
                    continue
                broken = _broken_imports(side, key, self.cache, self.memo)
                for (mod, nm), bf in broken.items():
                    if (mod, nm) == (module, name) and bf.severity >= Severity.ERROR:
                        return f"{after[key].name} {after[key].version} still imports {name} from {module}"
            if f.code != "GTR101" or any(canonicalize_name(p) != provider for p in f.packages):
                continue
            return f"{provider} still lacks {what}"  # the project's own import
        return ""


def plan_fixes(
    env: EnvSnapshot,
    results: list[CheckResult],
    *,
    resolver: Resolver | None = None,
    offline: bool = False,
) -> list[FixPlanEntry]:
    """Search and verify a fix for every error cause that carries a cause key."""
    if resolver is None:
        from gator_setup.probes.resolver import dry_run

        resolver = dry_run
    verifier = _Verifier(env, resolver, offline)
    plan: list[FixPlanEntry] = []
    for r in results:
        for f in r.findings:
            if f.severity < Severity.ERROR or not f.evidence.get("cause"):
                continue
            tried = [verifier.verify(f, req) for req in candidates(env, f)]
            ok = [t for t in tried if t.verified]
            chosen = min(ok, key=lambda t: len(t.changes)) if ok else (tried[0] if tried else None)
            plan.append(FixPlanEntry(f, chosen, tried))
    return plan


def apply_to_results(results: list[CheckResult], plan: list[FixPlanEntry]) -> None:
    """Replace each planned finding's fix by the verified command (or label it unverified)."""
    by_id = {id(e.finding): e for e in plan}
    for r in results:
        out = []
        for f in r.findings:
            e = by_id.get(id(f))
            out.append(f if e is None else _with_fix(f, e))
        r.findings = out


def _with_fix(f: Finding, e: FixPlanEntry) -> Finding:
    evidence = dict(f.evidence)
    alts = [t for t in e.tried if t.verified and t is not e.chosen]
    if e.chosen is None:
        return f
    if e.verified:
        fix = e.chosen.command + (
            "  (or " + " / ".join(f'"{t.requirement}"' for t in alts) + ", also verified)" if alts else ""
        )
        evidence["fix_verified"] = f"yes: {e.chosen.reason}; it moves {e.chosen.moves()}"
    else:
        fix = f"(unverified) {f.fix or e.chosen.command}"
        evidence["fix_verified"] = "no: " + "; ".join(f"{t.requirement}: {t.reason}" for t in e.tried)
    evidence["fix_requirement"] = e.chosen.requirement
    evidence["fix_candidates"] = "; ".join(
        f"{t.requirement}: {'verified' if t.verified else 'rejected'}" for t in e.tried
    )
    return replace(f, fix=fix, evidence=evidence)


def verify_fixes(
    results: list[CheckResult], env: EnvSnapshot, context: dict[str, object]
) -> list[FixPlanEntry]:
    """The doctor's step: plan, apply to the findings, and record what the search cost."""
    start = time.perf_counter()
    plan = plan_fixes(env, results)
    apply_to_results(results, plan)
    context["fix_search"] = {
        "causes": len(plan),
        "verified": sum(1 for e in plan if e.verified),
        "candidates_tried": sum(len(e.tried) for e in plan),
        "seconds": round(time.perf_counter() - start, 3),
    }
    return plan
