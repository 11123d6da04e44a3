"""check-pins: do a project's declared ranges admit a known-bad combination? (GTR301-GTR303)"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from gator_setup.checks.base import Finding, Severity
from gator_setup.checks.registry import command_result
from gator_setup.errors import InputError
from gator_setup.knowledge.rules import Rule
from gator_setup.pins.admits import compatible, intersection_witness
from gator_setup.pins.model import Declaration, PinSet
from gator_setup.report.model import Report

RANGES_CODE = "GTR301"
LOCK_CODE = "GTR302"
PROFILE_CODE = "GTR303"

#: Interpreters and platforms a declared range may be installed on; markers are evaluated on each.
PYTHONS: tuple[str, ...] = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
PLATFORMS: tuple[tuple[str, str, str, str], ...] = (
    # sys_platform, platform_system, platform_machine, os_name
    ("linux", "Linux", "x86_64", "posix"),
    ("linux", "Linux", "aarch64", "posix"),
    ("darwin", "Darwin", "arm64", "posix"),
    ("win32", "Windows", "AMD64", "nt"),
)


@dataclass(frozen=True)
class CheckPinsOptions:
    """What to check: explicit files (else discovered in `project_dir`) and an optional profile."""

    files: tuple[str, ...] = ()
    project_dir: str = "."
    profile: str | None = None
    rules_files: tuple[str, ...] = ()
    #: Resolve the files and analyse the resolved wheels (GTR304); off: the knowledge base alone.
    resolve: bool = False
    #: Python version the files are resolved for.
    python: str = "3.11"
    offline: bool = False


@dataclass
class Admission:
    """One way a rule is admitted: the configuration, the environment and a witness per package."""

    rule: Rule
    config: str
    python: str
    platform: str
    witnesses: dict[str, Version]
    decls: dict[str, list[Declaration]] = field(default_factory=dict)


def marker_envs(requires_python: SpecifierSet | None) -> list[dict[str, str]]:
    """PEP 508 environments to evaluate markers in, limited by the project's requires-python."""
    envs = []
    for py in PYTHONS:
        if requires_python is not None and not requires_python.contains(f"{py}.0", prereleases=True):
            continue
        for sys_platform, system, machine, os_name in PLATFORMS:
            envs.append(
                {
                    "python_version": py,
                    "python_full_version": f"{py}.0",
                    "implementation_name": "cpython",
                    "implementation_version": f"{py}.0",
                    "platform_python_implementation": "CPython",
                    "platform_release": "",
                    "platform_version": "",
                    "sys_platform": sys_platform,
                    "platform_system": system,
                    "platform_machine": machine,
                    "os_name": os_name,
                    "extra": "",
                }
            )
    return envs


def _marker_true(marker: Marker | None, env: dict[str, str]) -> bool:
    if marker is None:
        return True
    try:
        return bool(marker.evaluate(env))
    except (UndefinedComparison, UndefinedEnvironmentName):
        return True  # cannot tell: assume it may apply


def _configs(decls: Sequence[Declaration]) -> list[str | None]:
    groups = sorted({d.group for d in decls if d.group})
    return [None, *groups]


def _active(decls: Iterable[Declaration], config: str | None, env: dict[str, str]) -> list[Declaration]:
    extra = config.split(":", 1)[1] if config and config.startswith("extra:") else ""
    e = {**env, "extra": extra}
    return [d for d in decls if (d.group is None or d.group == config) and _marker_true(d.marker, e)]


def find_admission(
    rule: Rule, pins: PinSet, extra_constraints: Sequence[Declaration] = ()
) -> Admission | None:
    """The first configuration and environment in which the declared ranges admit the rule."""
    relevant = [d for d in pins.declarations if d.kind != "lock" and d.name in rule.packages]
    if not any(d.kind == "requirement" for d in relevant):
        return None
    extra = [d for d in extra_constraints if d.name in rule.packages]
    for config in _configs(relevant):
        for env in marker_envs(pins.requires_python):
            if not rule.applies_to_python(env["python_full_version"], env):
                continue
            active = _active(relevant, config, env)
            declared = {d.name for d in active if d.kind == "requirement"}
            if not all(name in declared for name in rule.declared):
                continue
            witnesses: dict[str, Version] = {}

            for name, rule_range in rule.packages.items():
                specs = [d.specifier for d in [*active, *extra] if d.name == name]
                w = intersection_witness(specs, rule_range)
                if w is None:
                    break
                witnesses[name] = w
            else:
                return Admission(
                    rule=rule,
                    config=config or "base",
                    python=env["python_version"],
                    platform=f"{env['sys_platform']}/{env['platform_machine']}",
                    witnesses=witnesses,
                    decls={n: [d for d in active if d.name == n] for n in rule.packages},
                )
    return None


def _merged_fix(decl: Declaration | None, fix: Requirement) -> str:
    """The declared line with its lower bounds replaced by the fix (upper bounds kept)."""
    if decl is None:
        return str(fix)
    # A fix that raises the floor replaces the declared floor; one that only excludes adds to it.
    raises_floor = any(s.operator in (">=", ">", "==", "~=", "===") for s in fix.specifier)
    upper = ("<", "<=", "!=")
    kept = [s for s in decl.specifier if not raises_floor or s.operator in upper]
    merged = SpecifierSet(",".join(str(s) for s in [*fix.specifier, *kept]))
    spec = merged if compatible([merged]) else fix.specifier
    parts = sorted(
        spec, key=lambda s: (s.operator not in (">=", ">", "==", "~="), s.operator == "!=", str(s))
    )
    text = fix.name + ",".join(str(s) for s in parts)
    if decl.marker is not None:
        text += f"; {decl.marker}"
    return text


def _fix_text(rule: Rule, adm: Admission) -> str:
    fix = rule.fix_requirement
    if fix is None:
        return rule.fix
    from packaging.utils import canonicalize_name

    target = canonicalize_name(fix.name)
    reqs = [d for d in adm.decls.get(target, []) if d.kind == "requirement"]
    decl = reqs[0] if reqs else None
    new = _merged_fix(decl, fix)
    text = f"change `{decl.display}` to `{new}` ({decl.location})" if decl else f"add `{new}`"
    if rule.alternatives:
        text += "; or " + " / ".join(f"`{a}`" for a in rule.alternatives)
    return text


def _subject(rule: Rule, adm: Admission) -> Declaration:
    for name in (*rule.declared, *rule.packages):
        for d in adm.decls.get(name, []):
            if d.kind == "requirement":
                return d
    return next(d for ds in adm.decls.values() for d in ds)


def _evidence(rule: Rule, extra: dict[str, str]) -> dict[str, str]:
    head = {
        "cause": rule.cause_key,
        "rule": rule.id,
        "broken_combination": rule.combination(),
        "error_users_see": rule.error,
    }
    return {**head, **extra, **rule.proof_evidence()}


def range_finding(adm: Admission) -> Finding:
    """GTR301 for one admitted rule, located on the subject package's declaration."""
    rule = adm.rule
    subject = _subject(rule, adm)
    declared = ", ".join(
        f"`{d.display}`" for n in rule.packages for d in adm.decls.get(n, [])[:1] if d is not subject
    )
    with_others = f" (with {declared})" if declared else ""
    example = " + ".join(f"{rule.display(n)} {v}" for n, v in adm.witnesses.items())
    where = "" if adm.config == "base" else f" with {adm.config}"
    fails = f"`{rule.fails_at}` fails" if rule.fails_at else "it fails"
    message = (
        f"`{subject.display}`{with_others} admits {rule.combination()} (e.g. {example}{where}): "
        f"{fails} with {rule.error}"
    )
    return Finding(
        code=RANGES_CODE,
        severity=rule.severity if rule.severity >= Severity.WARNING else Severity.WARNING,
        message=message,
        fix=_fix_text(rule, adm),
        packages=tuple(rule.packages),
        location=subject.location,
        evidence=_evidence(
            rule,
            {
                "declared": "; ".join(f"{d.display} ({d.location})" for ds in adm.decls.values() for d in ds),
                "admitted_in": f"{adm.config}, Python {adm.python}, {adm.platform}",
            },
        ),
    )


def lock_findings(rules: Sequence[Rule], pins: PinSet) -> list[Finding]:
    """GTR302: exact versions in each lock file checked exactly."""
    out: list[Finding] = []
    by_file: dict[str, list[Declaration]] = {}
    for d in pins.declarations:
        if d.kind == "lock":
            by_file.setdefault(d.location.path, []).append(d)
    for path, decls in by_file.items():
        for rule in rules:
            chosen: dict[str, Declaration] = {}
            for name, rng in rule.packages.items():
                hit = next(
                    (d for d in decls if d.name == name and rng.contains(_pinned(d), prereleases=True)), None
                )
                if hit is None:
                    break
                chosen[name] = hit
            else:
                subject = chosen[(rule.declared or tuple(rule.packages))[0]]
                combo = " + ".join(f"{n} {_pinned(d)}" for n, d in chosen.items())
                out.append(
                    Finding(
                        code=LOCK_CODE,
                        severity=Severity.ERROR,
                        message=f"{path} locks {combo}: {rule.title}; users see: {rule.error}",
                        fix=f"`{rule.fix}`"
                        + (f" (or `{'` / `'.join(rule.alternatives)}`)" if rule.alternatives else "")
                        + ", then re-lock",
                        packages=tuple(rule.packages),
                        location=subject.location,
                        evidence=_evidence(rule, {"locked": combo}),
                    )
                )
    return out


def _pinned(d: Declaration) -> Version:
    return Version(next(iter(d.specifier)).version)


def profile_constraints(name: str, project_dir: Path) -> tuple[list[Declaration], str | None]:
    """The profile's constraints file, or a note saying why there is none."""
    from gator_setup.knowledge.profiles import profile_dirs
    from gator_setup.pins.requirements_txt import parse_requirements_file

    dirs = [project_dir / "constraints", *profile_dirs()]
    for folder in dirs:
        path = folder / f"{name}.txt"
        if path.is_file():
            return parse_requirements_file(path, kind="constraint"), None
    known = sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.txt")})
    return [], (
        f"profile {name!r}: constraints/{name}.txt not found (available: {', '.join(known) or 'none'}); "
        "profile constraints were not checked."
    )


def profile_findings(pins: PinSet, constraints: Sequence[Declaration], profile: str) -> list[Finding]:
    """GTR303: declared requirements that no version allowed by the profile satisfies."""
    out: list[Finding] = []
    by_name: dict[str, list[Declaration]] = {}
    for c in constraints:
        by_name.setdefault(c.name, []).append(c)
    for d in pins.declarations:
        if d.kind != "requirement" or d.name not in by_name:
            continue
        specs = [d.specifier, *(c.specifier for c in by_name[d.name])]
        if not compatible(specs):
            pinned = ", ".join(f"`{c.display}`" for c in by_name[d.name])
            out.append(
                Finding(
                    code=PROFILE_CODE,
                    severity=Severity.ERROR,
                    message=f"`{d.display}` cannot be installed with profile {profile} ({pinned})",
                    fix=f"relax `{d.display}` to allow {pinned}, or choose another profile",
                    packages=(d.name,),
                    location=d.location,
                    evidence={
                        "profile_constraints": "; ".join(
                            f"{c.display} ({c.location})" for c in by_name[d.name]
                        )
                    },
                )
            )
    return out


def run_check_pins(opts: CheckPinsOptions) -> Report:
    """Read the pin files, check every rule, and build the report."""
    from gator_setup.knowledge.rules import default_rules, load_rules
    from gator_setup.pins.discover import discover, load_pins

    start = time.perf_counter()
    root = Path(opts.project_dir)
    files = [Path(f) for f in opts.files] if opts.files else discover(root)
    notes: list[str] = []
    if not files:
        raise InputError(root, "no pyproject.toml, requirements*.txt or lock file found", hint="Pass FILES.")
    pins = load_pins(files)
    rules = [
        r for r in (load_rules(opts.rules_files) if opts.rules_files else default_rules()) if not r.fact_only
    ]
    constraints: list[Declaration] = []
    if opts.profile:
        constraints, note = profile_constraints(opts.profile, root)
        if note:
            notes.append(note)
    admissions = [a for r in rules if (a := find_admission(r, pins, constraints)) is not None]
    shadowed = {s for a in admissions for s in a.rule.supersedes}
    ranges = [range_finding(a) for a in admissions if a.rule.id not in shadowed]
    results = [
        command_result(RANGES_CODE, ranges),
        command_result(LOCK_CODE, lock_findings(rules, pins)),
    ]
    if opts.profile and constraints:
        results.append(
            command_result(
                PROFILE_CODE,
                profile_findings(pins, constraints, opts.profile),
                title=f"Declared ranges fit profile {opts.profile}",
            )
        )
    if opts.resolve and not opts.rules_files:
        from gator_setup.core.pins_resolve import RESOLVED_CODE, judge_resolutions
        from gator_setup.progress import activity

        with activity("resolving the declared requirements (uv) and analysing the resolved wheels"):
            resolved, more, resolved_ok = judge_resolutions(pins, opts.python, offline=opts.offline)
        results.append(command_result(RESOLVED_CODE, resolved))
        notes += more
        if resolved_ok:
            # The ranges admit it, but no resolution installs it: the packages' own requirements
            # exclude it today. Still worth knowing (a later release may allow it), not a failure.
            seen = {f.evidence.get("cause") for f in resolved}
            results[0].findings = [
                f
                if f.evidence.get("cause") in seen or f.severity < Severity.ERROR
                else replace(
                    f,
                    severity=Severity.WARNING,
                    message=f.message + " (no resolution of the files installs it today)",
                )
                for f in results[0].findings
            ]
    elif not opts.resolve:
        notes.append("resolution not checked (--no-resolve): only the knowledge base's rules were applied")
    from gator_setup.core.causes import group_by_cause

    group_by_cause(results)
    shown = [os.path.relpath(f) if os.path.isabs(f) else f for f in pins.files]
    return Report(
        command="check-pins",
        results=results,
        context={
            "headline": f"gator check-pins: {len(pins.declarations)} declaration(s) in {', '.join(shown)}; "
            f"{len(rules)} rule(s)",
            "files": shown,
            "declarations": len(pins.declarations),
            "rules": len(rules),
            "profile": opts.profile,
            "seconds": round(time.perf_counter() - start, 4),
        },
        notes=notes,
    )
