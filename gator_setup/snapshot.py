"""EnvSnapshot: everything the probes learned about an environment, read by every check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gator_setup.envfacts import Distribution, Interpreter, ProbeProblem
from gator_setup.names import canonicalize_name

if TYPE_CHECKING:
    from packaging.version import Version

    from gator_setup.knowledge.profiles import Profile
    from gator_setup.probes.imports import ImportFacts
    from gator_setup.probes.platform import PlatformFacts

# (re-exported: checks and core import the environment's value types with the snapshot)
__all__ = ["Distribution", "EnvSnapshot", "Interpreter", "ProbeProblem"]


@dataclass
class EnvSnapshot:
    """The facts about one environment; filled once by probes, read by checks."""

    interpreter: Interpreter
    distributions: Mapping[str, Distribution]
    env_vars: Mapping[str, str] = field(default_factory=dict)
    project_dir: str | None = None
    problems: tuple[ProbeProblem, ...] = ()
    imports: ImportFacts | None = None
    platform: PlatformFacts | None = None
    profile: Profile | None = None
    #: Facts from third-party probes, keyed by the plugin's name.
    extra: dict[str, Any] = field(default_factory=dict)

    def dist(self, name: str) -> Distribution | None:
        """The installed distribution called `name` (any spelling), or None."""
        return self.distributions.get(canonicalize_name(name))

    def version_of(self, name: str) -> Version | None:
        d = self.dist(name)
        return d.parsed_version if d else None
