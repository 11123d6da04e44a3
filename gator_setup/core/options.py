"""The options objects the commands build and core reads (kept apart from the code that runs them,
so that probes-facing core modules can name them without importing the doctor)."""

from __future__ import annotations

from typing import NamedTuple


class DoctorOptions(NamedTuple):
    """What `gator doctor` was asked to do."""

    python: str | None = None
    project_dir: str | None = "."
    profile: str | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    include_plugins: bool = True
    #: Import torch in a subprocess of the target interpreter (arch list, devices, tensor op).
    deep: bool = False
    #: Replay a support bundle or hand-made tree instead of probing this machine.
    sysroot: str | None = None
    #: Write the raw probe inputs to this tar.gz.
    save_bundle: str | None = None
    #: Pasted tool outputs (rocminfo, nvidia-smi...) to replay instead of this machine ("-": stdin).
    from_output: tuple[str, ...] = ()
    #: Processes of the import analysis, this one included (None: one per CPU; 1: serial).
    workers: int | None = None


class ScanOptions(NamedTuple):
    """What `gator scan` was asked to do."""

    paths: tuple[str, ...]
    hub_version: str | None = None
    python: str | None = None
    exclude: tuple[str, ...] = ()
    #: Processes of the analysis, this one included (None: one per CPU; 1: serial).
    workers: int | None = None
