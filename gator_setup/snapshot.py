"""EnvSnapshot: everything the probes learned about an environment, read by every check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gator_setup.names import canonicalize_name

if TYPE_CHECKING:
    from packaging.version import Version

    from gator_setup.core.profiles import Profile
    from gator_setup.probes.imports import ImportFacts
    from gator_setup.probes.platform import PlatformFacts


@dataclass(frozen=True)
class Interpreter:
    """The Python interpreter whose environment is inspected."""

    executable: str
    version: str
    implementation: str
    platform: str
    machine: str
    sys_path: tuple[str, ...]
    prefix: str
    base_prefix: str

    @property
    def is_venv(self) -> bool:
        return self.prefix != self.base_prefix

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.version.split(".")[:3] if p.isdigit())


@dataclass(frozen=True)
class Distribution:
    """One installed distribution, as its metadata declares it."""

    name: str
    version: str
    requires: tuple[str, ...] = ()
    path: str | None = None

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)

    @property
    def parsed_version(self) -> Version | None:
        # imported here: packaging.version costs ~2 ms and a warm `gator scan` never parses versions
        from packaging.version import InvalidVersion, Version

        try:
            return Version(self.version)
        except InvalidVersion:
            return None


@dataclass(frozen=True)
class ProbeProblem:
    """Something a probe could not collect, and why (becomes a finding, never a crash)."""

    probe: str
    subject: str
    message: str


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
