"""GTR310-GTR313: the installed environment against the selected profile (--profile NAME)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from gator_setup.checks.base import Check, Finding, NotApplicable, Severity
from gator_setup.names import canonicalize_name
from gator_setup.snapshot import EnvSnapshot

NO_PROFILE = "no profile selected (--profile NAME or [tool.gator] profile)"


class _ProfileCheck(Check):
    category: ClassVar[str] = "profile"
    needs: ClassVar[frozenset[str]] = frozenset({"platform", "profile"})


class ProfilePlatform(_ProfileCheck):
    """The machine looks like the one the profile was made for (vendor, GPU arch)."""

    code: ClassVar[str] = "GTR310"
    title: ClassVar[str] = "Machine matches the profile's platform"

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        prof, facts = env.profile, env.platform
        if prof is None:
            raise NotApplicable(NO_PROFILE)
        if facts is None or prof.platform == "cpu":
            return
        gpus = facts.gpus_of(prof.platform)
        if not gpus:
            yield self.finding(
                Severity.WARNING,
                f"Profile {prof.name} expects an {prof.platform.upper()} GPU "
                f"({', '.join(prof.gpu_archs) or 'any'}) but none was found.",
                fix="Pick the profile of this machine (`gator doctor --profile cpu` on a CPU-only box).",
            )
            return
        if prof.gpu_archs:
            other = [g for g in gpus if g.arch and g.arch not in prof.gpu_archs]
            if other:
                yield self.finding(
                    Severity.WARNING,
                    f"Profile {prof.name} was verified for {', '.join(prof.gpu_archs)}; this machine has "
                    f"{', '.join(g.label for g in other)}.",
                )


class ProfileTorch(_ProfileCheck):
    """torch is exactly the profile's build, local tag included (+rocm5.7 vs +cu121 vs +cpu)."""

    code: ClassVar[str] = "GTR311"
    title: ClassVar[str] = "torch is the profile's build"

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        prof = env.profile
        if prof is None:
            raise NotApplicable(NO_PROFILE)
        req = prof.constraint("torch")
        args = prof.torch_install_args()
        if req is None or args is None:
            return
        fix = "pip " + " ".join(args)
        tb = env.platform.torch if env.platform else None
        installed = (tb.version if tb and tb.version else None) or (
            env.dist("torch").version if env.dist("torch") else None  # type: ignore[union-attr]
        )
        if installed is None:
            yield self.finding(
                Severity.ERROR, f"torch is not installed; profile {prof.name} needs {req}.", fix=fix
            )
            return
        if not req.specifier.contains(installed, prereleases=True):
            label = tb.label if tb and tb.version else f"torch {installed}"
            yield self.finding(
                Severity.ERROR,
                f"Profile {prof.name} needs {req} but {label} is installed (wrong wheel).",
                fix=fix,
                packages=("torch",),
            )


class ProfileConstraints(_ProfileCheck):
    """Every installed package the profile constrains is inside its verified range."""

    code: ClassVar[str] = "GTR312"
    title: ClassVar[str] = "Installed packages are inside the profile's ranges"

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        prof = env.profile
        if prof is None:
            raise NotApplicable(NO_PROFILE)
        for req in prof.constraints:
            if canonicalize_name(req.name) == "torch":
                continue  # GTR311 names the exact wheel and index
            d = env.dist(req.name)
            if d is None or not str(req.specifier):
                continue
            if not req.specifier.contains(d.version, prereleases=True):
                yield self.finding(
                    Severity.ERROR,
                    f"{d.name} {d.version} is outside profile {prof.name}'s verified range {req}.",
                    fix=f'pip install -c {prof.constraints_arg} "{req}"',
                    packages=(d.name,),
                    evidence={"verified": prof.verified or ""},
                )


class ProfileArchList(_ProfileCheck):
    """The wheel's compiled arch list includes the GPU archs the profile targets."""

    code: ClassVar[str] = "GTR313"
    title: ClassVar[str] = "torch wheel carries the profile's GPU archs"

    def run(self, env: EnvSnapshot) -> Iterable[Finding]:
        prof, facts = env.profile, env.platform
        if prof is None:
            raise NotApplicable(NO_PROFILE)
        if facts is None or not prof.gpu_archs:
            return
        if not facts.torch.arch_list:
            raise NotApplicable("the wheel's arch list is known only with --deep")
        missing = [a for a in prof.gpu_archs if a not in facts.torch.arch_list]
        if missing:
            yield self.finding(
                Severity.ERROR,
                f"{facts.torch.label} has no kernels for {', '.join(missing)} "
                f"(profile {prof.name} targets it).",
                fix="pip " + " ".join(prof.torch_install_args() or ["install", "torch"]),
                packages=("torch",),
            )


CHECKS: tuple[type[Check], ...] = (ProfilePlatform, ProfileTorch, ProfileConstraints, ProfileArchList)
