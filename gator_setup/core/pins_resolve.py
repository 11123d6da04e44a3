"""check-pins on installable environments: resolve the files, then analyse the resolved wheels' code.

A range that admits a known-bad combination matters only if a resolver can install it with the rest
of the file, and packages outside the knowledge base break too. So the files are resolved (uv pip
compile; pip's dry-run report where uv is missing): first the default resolution (what a plain
install gives today), then the oldest allowed direct dependencies (`--resolution lowest-direct`).
Each resolved set is judged like an installed environment, from the wheels (cached by name and
version): knowledge-base rules on the exact versions, every import of a watched provider by a
package that depends on it against the resolved provider's exports (GTR111's analysis), and the
numpy C ABI of every binary of a package that depends on numpy. Findings are GTR304, placed on
the line that declares the package, naming the resolution that produced them.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gator_setup.analysis.reachability import Reach
from gator_setup.envfacts import Distribution
from gator_setup.findings import Finding, Location, Severity
from gator_setup.pins.model import PinSet
from gator_setup.probes.resolver import RESOLVE_TIMEOUT_S, ResolveError

if TYPE_CHECKING:
    from gator_setup.core.whatif import SiteMemo

RESOLVED_CODE = "GTR304"
#: Marks a fix requirement that replaces the files' declaration of its package (uv --override).
OVERRIDE = "override:"
#: (label, extra uv arguments) of each resolution tried, default first.
CORNERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("default resolution", ()),
    ("oldest allowed direct dependencies", ("--resolution", "lowest-direct")),
)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
_VIA = re.compile(r"^\s+#\s+(?:via\s+)?([A-Za-z0-9][A-Za-z0-9._-]*)\s*$")


@dataclass
class Resolution:
    """One resolved set: versions, who requires whom (from uv's `# via`), and how it was made."""

    label: str
    command: str
    versions: dict[str, str] = field(default_factory=dict)
    via: dict[str, set[str]] = field(default_factory=dict)


Compiler = Callable[[list[Path], list[Path], str, tuple[str, ...], list[str]], Resolution]


def parse_compile(text: str, label: str, command: str) -> Resolution:
    """A Resolution from `uv pip compile` output (`name==version` lines, `# via` annotations)."""
    res = Resolution(label, command)
    current: str | None = None
    for line in text.splitlines():
        m = _PIN.match(line)
        if m:
            current = canonicalize_name(m.group(1))
            res.versions[current] = m.group(2)
            inline = line.split("# via", 1)
            if len(inline) == 2 and inline[1].strip():
                res.via.setdefault(current, set()).add(canonicalize_name(inline[1].strip()))
            continue
        v = _VIA.match(line)
        if v and current and line.strip() != "# via":
            res.via.setdefault(current, set()).add(canonicalize_name(v.group(1)))
    return res


def uv_compile(
    inputs: list[Path], constraints: list[Path], python: str, extra: tuple[str, ...], add: list[str]
) -> Resolution:
    """Resolve `inputs` (+ `add` requirements) for `python` with uv, installing nothing."""
    from gator_setup.probes.resolver import uv_command

    uv = uv_command()
    if uv is None:
        raise ResolveError("uv is not installed; check-pins resolves with uv (pip install uv)")
    with tempfile.TemporaryDirectory(prefix="gator-pins-") as tmp:
        more: list[str] = []
        added = [a for a in add if not a.startswith(OVERRIDE)]
        overrides = [a[len(OVERRIDE) :] for a in add if a.startswith(OVERRIDE)]
        if added:
            extra_file = Path(tmp) / "requirements-fix.txt"
            extra_file.write_text("\n".join(added) + "\n")
            more.append(str(extra_file))
        if overrides:
            # The files' own line for that package, changed: what editing the declaration does.
            override_file = Path(tmp) / "overrides-fix.txt"
            override_file.write_text("\n".join(overrides) + "\n")
            more += ["--override", str(override_file)]
        cmd = [
            *uv,
            "pip",
            "compile",
            "--quiet",
            "--no-header",
            "--python-version",
            python,
            *extra,
            *(str(p) for p in inputs),
            *more,
            *(a for c in constraints for a in ("-c", str(c))),
        ]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=RESOLVE_TIMEOUT_S, stdin=subprocess.DEVNULL
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ResolveError(f"the resolver did not run: {exc}") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        raise ResolveError(" ".join(lines[-3:])[-400:] or f"uv exited {proc.returncode}")
    shown = "uv pip compile " + " ".join([*extra, *(p.name for p in inputs), *add]).replace(
        OVERRIDE, "--override "
    )
    return parse_compile(proc.stdout, "", shown)


def resolvable_inputs(pins: PinSet) -> tuple[list[Path], list[Path]]:
    """(requirement inputs, constraint files) of the pin files a resolver can read."""
    inputs: list[Path] = []
    constraints: list[Path] = []
    for f in pins.files:
        p = Path(f)
        if p.name.startswith("constraints") and p.suffix == ".txt":
            constraints.append(p)
        elif p.suffix == ".txt" or p.name == "pyproject.toml":
            inputs.append(p)
    return inputs, constraints


class _Judge:
    """Analyses resolved sets; wheels and import sites are cached across resolutions and fixes."""

    def __init__(self, python: str, offline: bool) -> None:
        from gator_setup.core.whatif import wheel_cache_dir
        from gator_setup.knowledge.builder import WheelCache

        self.cache = WheelCache(wheel_cache_dir(), offline=offline, python_version=python)
        self.memo: SiteMemo = {}
        self.notes: list[str] = []

    def findings(self, res: Resolution) -> list[tuple[str, Finding]]:
        """(cause key, finding without location) for every break in one resolved set."""
        out = self._rules(res)
        out += self._imports(res)
        out += self._numpy(res)
        return out

    def _rules(self, res: Resolution) -> list[tuple[str, Finding]]:
        from gator_setup.knowledge.rules import default_rules, matching_rules

        versions: dict[str, Version | None] = {}
        for k, v in res.versions.items():
            try:
                versions[k] = Version(v)
            except InvalidVersion:
                versions[k] = None
        out = []
        for rule in matching_rules([r for r in default_rules() if not r.fact_only], versions):
            installed = ", ".join(f"{rule.display(n)} {res.versions[n]}" for n in rule.packages)
            out.append(
                (
                    rule.cause_key,
                    Finding(
                        RESOLVED_CODE,
                        rule.severity,
                        f"the {res.label} installs {installed}: {rule.title}; users see: {rule.error}",
                        packages=tuple(rule.packages),
                        evidence={"rule": rule.id, "resolution": res.command, "cause": rule.cause_key},
                    ),
                )
            )
        return out

    def _dists(self, res: Resolution, names: set[str]) -> tuple[dict[str, Distribution], dict[str, Path]]:
        from gator_setup.knowledge.builder import wheel_requires

        dists: dict[str, Distribution] = {}
        wheels: dict[str, Path] = {}
        for name in sorted(names):
            version = res.versions.get(name)
            if version is None:
                continue
            try:
                w = self.cache.wheel(name, Version(version))
            except Exception as exc:  # offline without the wheel, or no wheel at all
                self.notes.append(f"{name} {version}: wheel not analysed ({exc})")
                continue
            if w is None:
                self.notes.append(f"{name} {version}: no wheel to analyse")
                continue
            wheels[name] = w
            dists[name] = Distribution(name, version, wheel_requires(w), None)
        return dists, wheels

    def _imports(self, res: Resolution) -> list[tuple[str, Finding]]:
        from gator_setup.core.whatif import WATCHED, _broken_imports, _Side

        providers = {canonicalize_name(m): m for m in WATCHED if canonicalize_name(m) in res.versions}
        consumers = {c for p in providers for c in res.via.get(p, set()) if c in res.versions}
        if not consumers:
            return []
        dists, wheels = self._dists(res, consumers | set(providers))
        side = _Side(dists, wheels)
        out = []
        for consumer in sorted(consumers):
            if consumer not in dists:
                continue
            broken = _broken_imports(side, consumer, self.cache, self.memo)
            reach = self._reach(wheels[consumer], [f for f in broken.values() if f.severity < Severity.ERROR])
            for (module, name), f in sorted(broken.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
                provider = canonicalize_name(module.split(".")[0])
                what = f"{module}.{name}" if name else module
                msg = f.message.replace(" would break: ", " breaks: ", 1)
                r = reach.get(f.evidence.get("import_site", ""))
                if r is not None:
                    f = replace(f, severity=Severity.ERROR if r.reachable else Severity.WARNING)
                    f = replace(f, evidence={**f.evidence, "reach": r.how})
                out.append(
                    (
                        f"missing:{provider}:{what}",
                        Finding(
                            RESOLVED_CODE,
                            f.severity,
                            f"the {res.label}: {msg}",
                            packages=f.packages,
                            evidence={
                                **f.evidence,
                                "resolution": res.command,
                                "cause": f"missing:{provider}:{what}",
                            },
                        ),
                    )
                )
        return out

    def _reach(self, wheel: Path, findings: list[Finding]) -> dict[str, Reach]:
        """import_site -> reach of its module, for imports `import <package>` does not run itself."""
        import configparser
        import zipfile

        from gator_setup.analysis.extract import module_name
        from gator_setup.analysis.reachability import PackageIndex, reachability

        sites = {f.evidence.get("import_site", "") for f in findings}
        mods = {s: module_name(s.rsplit(":", 1)[0]) for s in sites if s}
        wanted = {s: m[0] for s, m in mods.items() if m is not None}
        if not wanted:
            return {}
        root = self.cache.unpacked(wheel)
        rels = [str(p.relative_to(root)).replace("\\", "/") for p in root.rglob("*.py")]
        roots: dict[str, str] = {}
        with zipfile.ZipFile(wheel) as zf:
            eps = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
            if eps:
                parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
                parser.optionxform = str  # type: ignore[assignment,method-assign]
                try:
                    parser.read_string(zf.read(eps[0]).decode("utf-8", "replace"))
                    for group in parser.sections():
                        for ep, value in parser.items(group):
                            roots[value.split(":", 1)[0].strip()] = f"the entry point {group} `{ep}`"
                except configparser.Error:
                    pass
        got = reachability(PackageIndex(root, rels), wanted.values(), roots)
        return {s: got[m] for s, m in wanted.items() if m in got}

    def _numpy(self, res: Resolution) -> list[tuple[str, Finding]]:
        from gator_setup.analysis.numpy_abi import wheel_numpy_major

        try:
            numpy = Version(res.versions.get("numpy", "0"))
        except InvalidVersion:
            return []
        if numpy.major < 2:
            return []
        users = {c for c in res.via.get("numpy", set()) if c in res.versions}
        _dists, wheels = self._dists(res, users)
        out = []
        for name, wheel in sorted(wheels.items()):
            if (wheel_numpy_major(wheel) or 2) < 2:
                out.append(
                    (
                        f"numpy-abi:{name}",
                        Finding(
                            RESOLVED_CODE,
                            Severity.ERROR,
                            f"the {res.label} installs {name} {res.versions[name]}, whose binary wheel was "
                            f"built against numpy 1.x, with numpy {numpy}: `import` fails "
                            "(numpy.core.multiarray failed to import / numpy.dtype size changed)",
                            packages=(name, "numpy"),
                            evidence={
                                "wheel": wheel.name,
                                "resolution": res.command,
                                "cause": f"numpy-abi:{name}",
                            },
                        ),
                    )
                )
        return out


def _locate(f: Finding, pins: PinSet, fallback: Path) -> Finding:
    for name in f.packages:
        for d in pins.declarations:
            if d.name == canonicalize_name(name):
                return replace(f, location=d.location)
    return replace(f, location=Location(str(fallback)))


def _fix_candidates(cause: str, f: Finding, res: Resolution) -> list[str]:
    kind, _, rest = cause.partition(":")
    subject, _, _what = rest.partition(":")
    out: list[str] = []
    if kind == "numpy-abi":
        out += ["numpy<2", f"{subject}>{res.versions.get(subject, '0')}"]
    elif kind == "missing":
        from gator_setup.checks.deprecations import removal_of
        from gator_setup.core.fixsearch import _narrowed
        from gator_setup.knowledge.rules import default_rules

        if f.evidence.get("rule"):
            for rule in default_rules():
                if rule.id == f.evidence["rule"]:
                    out += [n for r in (rule.fix, *rule.alternatives) for n in _narrowed(r)]

        module, _, name = _what.rpartition(".")
        removal = removal_of(module, name) if module and name else None
        pv = res.versions.get(subject)
        if removal is not None:
            out.append(f"{subject}<{removal.removed_in}")
        elif pv:
            out.append(f"{subject}<{pv}")
        for p in f.packages:
            key = canonicalize_name(p)
            if key != subject and key in res.versions:
                out.append(f"{key}>{res.versions[key]}")
    elif f.evidence.get("rule"):
        from gator_setup.knowledge.rules import default_rules

        for rule in default_rules():
            if rule.id == f.evidence["rule"]:
                out += [rule.fix, *rule.alternatives]
    return out


def judge_resolutions(
    pins: PinSet,
    python: str,
    *,
    compiler: Compiler = uv_compile,
    offline: bool = False,
    corners: Sequence[tuple[str, tuple[str, ...]]] = CORNERS,
) -> tuple[list[Finding], list[str], bool]:
    """GTR304 findings (one per cause, default resolution first), notes on what was not checked,
    and whether every resolution was computed (else a rule's admission cannot be ruled out)."""
    inputs, constraints = resolvable_inputs(pins)
    if not inputs:
        return (
            [],
            ["no requirements file or pyproject.toml to resolve: only the knowledge base was applied"],
            False,
        )
    complete = True
    judge = _Judge(python, offline)
    found: dict[str, Finding] = {}
    notes: list[str] = []
    for label, extra in corners:
        try:
            res = compiler(inputs, constraints, python, extra, [])
        except ResolveError as exc:
            notes.append(
                f"the {label} could not be computed ({exc}); for it only the knowledge base was applied"
            )
            complete = False
            continue
        res.label = label
        for cause, f in judge.findings(res):
            if cause in found or f.severity < Severity.WARNING:
                continue  # the same cause seen in an earlier resolution: reported once
            fix = _verified_fix(pins, judge, compiler, inputs, constraints, python, extra, cause, f, res)
            found[cause] = _locate(fix, pins, inputs[0])
    notes += sorted(set(judge.notes))
    return list(found.values()), notes, complete


def _req_name(req: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return canonicalize_name(Requirement(req).name)
    except InvalidRequirement:
        return ""


def _verified_fix(
    pins: PinSet,
    judge: _Judge,
    compiler: Compiler,
    inputs: list[Path],
    constraints: list[Path],
    python: str,
    extra: tuple[str, ...],
    cause: str,
    f: Finding,
    res: Resolution,
) -> Finding:
    """The finding with the first candidate that re-resolves and leaves no break (or labelled unverified)."""
    tried = []
    for req in _fix_candidates(cause, f, res):
        declared = [d for d in pins.declarations if d.name == _req_name(req)]
        change = OVERRIDE + req if declared else req
        try:
            again = compiler(inputs, constraints, python, extra, [change])
        except ResolveError as exc:
            tried.append(f"{req}: does not resolve ({str(exc)[:120]})")
            continue
        again.label = res.label
        left = [g for _c, g in judge.findings(again) if g.severity >= Severity.ERROR]
        if not left:
            how = (
                f"change `{declared[0].display}` to `{req}` ({declared[0].location})"
                if declared
                else f'add "{req}" to the requirements'
            )
            return replace(
                f,
                fix=how,
                evidence={
                    **f.evidence,
                    "fix_verified": f"yes: re-resolved with it, no error in {again.command}",
                },
            )
        tried.append(f"{req}: still breaks ({left[0].message[:120]})")
    return replace(
        f,
        fix="(unverified) " + (f'add "{_fix_candidates(cause, f, res)[0]}"' if tried else "no fix found"),
        evidence={**f.evidence, "fix_verified": "no: " + "; ".join(tried)},
    )
