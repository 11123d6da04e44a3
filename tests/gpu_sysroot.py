"""Build replay sysroots (the --sysroot layout) from fixture files and a few hand-set facts."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "gpu"


def fixture(name: str) -> str:
    """A captured output without its provenance header (the leading '#' lines)."""
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines(keepends=True)
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        i += 1
    return "".join(lines[i:])


def mi25_properties() -> str:
    """The MI25 KFD node from the RVS doc capture, as the sysfs file (key value lines)."""
    out = []
    for line in fixture("rvs_gpup_mi25_kfd_properties_doc.txt").splitlines():
        parts = line.split()
        # node-level properties only: '[RESULT] [ts] action_1 gpup 3254 key value' (7 tokens)
        if len(parts) == 7:
            out.append(f"{parts[5]} {parts[6]}")
    return "\n".join(out) + "\n"


CPU_NODE = (
    "cpu_cores_count 24\nsimd_count 0\nmem_banks_count 1\nvendor_id 0\ndevice_id 0\ngfx_target_version 0\n"
)


class Sysroot:
    """A hand-made tree mirroring the paths the probes read."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def write(self, path: str, text: str | bytes) -> Sysroot:
        p = self.root / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
        return self

    def kfd_node(self, n: int, properties: str) -> Sysroot:
        return self.write(f"/sys/class/kfd/kfd/topology/nodes/{n}/properties", properties)

    def command(self, key: str, stdout: str | bytes, rc: int = 0) -> Sysroot:
        self.write(f"/.gator/commands/{key}.txt", stdout)
        return self.write(f"/.gator/commands/{key}.rc", f"{rc}\n")

    def hang(self, key: str) -> Sysroot:
        return self.write(f"/.gator/commands/{key}.hang", "")

    def user(self, name: str, groups: list[str], login_groups: list[str] | None = None) -> Sysroot:
        data = {
            "user": name,
            "groups": groups,
            "login_groups": login_groups if login_groups is not None else groups,
        }
        return self.write("/.gator/user.json", json.dumps(data))

    def devices(self, **nodes: tuple[str, str]) -> Sysroot:
        """devices(kfd=("render", "0660"), renderD128=("render", "0660"))."""
        table = {}
        for name, (group, mode) in nodes.items():
            path = "/dev/kfd" if name == "kfd" else f"/dev/dri/{name}"
            self.write(path, "")
            table[path] = {"group": group, "mode": mode}
        return self.write("/.gator/devices.json", json.dumps(table))

    def dist(self, name: str, version: str) -> Sysroot:
        meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        return self.write(
            f"/.gator/site-packages/{name.replace('-', '_')}-{version}.dist-info/METADATA", meta
        )

    def torch(
        self,
        version_py_fixture: str | None = None,
        *,
        version: str,
        hip: str | None = None,
        cuda: str | None = None,
        rocblas_archs: tuple[str, ...] = (),
    ) -> Sysroot:
        if version_py_fixture:
            text = fixture(version_py_fixture)
        else:
            text = (
                "from typing import Optional\n\n"
                "__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip']\n"
                f"__version__ = '{version}'\ndebug = False\n"
                f"cuda: Optional[str] = {cuda!r}\ngit_version = '0' * 40\nhip: Optional[str] = {hip!r}\n"
            )
        self.write("/.gator/site-packages/torch/version.py", text)
        for arch in rocblas_archs:
            self.write(f"/.gator/site-packages/torch/lib/rocblas/library/TensileLibrary_{arch}.co", "")
        return self.dist("torch", version)


def mi25_rocm57(root: Path, *, torch: str = "rocm", numpy: str = "1.26.4", in_render: bool = True) -> Sysroot:
    """The Gator box: MI25 + ROCm 5.7.1, user alice; torch build chosen by `torch`."""
    s = Sysroot(root)
    s.kfd_node(0, CPU_NODE).kfd_node(1, mi25_properties())
    s.write("/opt/rocm-5.7.1/.info/version", "5.7.1-98\n")
    s.write("/proc/meminfo", "MemTotal:       65746296 kB\nMemFree:         1000 kB\n")
    s.devices(kfd=("render", "0660"), renderD128=("render", "0660"))
    s.user("alice", ["alice", "video", "render"] if in_render else ["alice", "video"])
    if torch == "rocm":
        # HIP string of the rocm5.7 wheels as collect_env prints it (gpu_platform_notes.md 3.1).
        s.torch(
            version="2.2.0+rocm5.7", hip="5.7.31921-d1770ee1b", rocblas_archs=("gfx900", "gfx906", "gfx90a")
        )
    elif torch == "cuda":
        s.torch("torch_version_py_2.2.1+cu121.txt", version="2.2.1+cu121")
    elif torch == "cpu":
        s.torch("torch_version_py_2.2.0+cpu.txt", version="2.2.0+cpu")
    s.dist("numpy", numpy).dist("diffusers", "0.30.3").dist("huggingface-hub", "0.24.7")
    return s
