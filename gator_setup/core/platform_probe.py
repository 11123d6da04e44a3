"""Fill a snapshot's PlatformFacts: live, replayed from --sysroot, or recorded for --save-bundle."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gator_setup.probes.platform import probe_platform
from gator_setup.probes.python_env import read_distributions
from gator_setup.probes.system import LiveSystem, Recorder, ReplaySystem, SystemView
from gator_setup.snapshot import EnvSnapshot

if TYPE_CHECKING:
    from gator_setup.core.options import DoctorOptions

REPLAY_SITE = "/.gator/site-packages"


def probe_into(snapshot: EnvSnapshot, opts: DoctorOptions) -> None:
    """Probe the platform once and store it on the snapshot (and write the bundle when asked)."""
    system: SystemView
    if opts.sysroot:
        system = ReplaySystem(opts.sysroot)
        site = Path(opts.sysroot) / REPLAY_SITE.lstrip("/")
        if site.is_dir():
            # The replayed environment's packages replace the local ones: a bundle is one machine.
            dists, problems = read_distributions([str(site)])
            snapshot.distributions = dists
            snapshot.problems = tuple(problems)
        site_dirs = [REPLAY_SITE]
    else:
        system = LiveSystem()
        site_dirs = [p for p in snapshot.interpreter.sys_path if os.path.isdir(p)]
    recorder = Recorder(system) if opts.save_bundle else None
    deep_python = snapshot.interpreter.executable if opts.deep and not opts.sysroot else None
    snapshot.platform = probe_platform(
        recorder or system, site_dirs, deep_python=deep_python, use_nvml=not opts.sysroot
    )
    if recorder is not None and opts.save_bundle:
        from gator_setup.core.bundle import bundle_entries, write_bundle

        entries = bundle_entries(recorder, site_dirs, snapshot.distributions, system.env())
        write_bundle(opts.save_bundle, entries)


def platform_context(snapshot: EnvSnapshot) -> dict[str, Any]:
    """The platform facts in the report's context (JSON), without anything secret."""
    facts = snapshot.platform
    if facts is None:
        return {}
    tb = facts.torch
    return {
        "gpus": [
            {
                "vendor": g.vendor,
                "name": g.name,
                "arch": g.arch,
                "vram_bytes": g.vram_bytes,
                "device_id": g.device_id,
                "compute_units": g.compute_units,
                "source": g.source,
            }
            for g in facts.gpus
        ],
        "platform": facts.platform,
        "rocm": facts.rocm_version,
        "amdgpu_driver": facts.amdgpu_driver,
        "nvidia_driver": facts.nvidia_driver,
        "cuda_driver_api": facts.cuda_driver_api,
        #: fact -> the file, node or tool output it came from.
        "sources": dict(sorted(facts.sources.items())),
        "torch": {
            "version": tb.version,
            "kind": tb.kind,
            "hip": tb.hip,
            "cuda": tb.cuda,
            "arch_list": tb.arch_list,
            "source": tb.location,
        },
        "unavailable": list(facts.unavailable),
        "sysroot": facts.sysroot,
        "profile": snapshot.profile.name if snapshot.profile else None,
    }
