"""One view of the system for every platform probe: files and commands, live or replayed from a sysroot.

Probes never call `open` or `subprocess` themselves; they go through a `SystemView`, so the same
probe code runs on the live machine (`LiveSystem`), replays a support bundle or a hand-made tree
(`ReplaySystem`, `--sysroot DIR`) and records what it read (`Recorder`, `--save-bundle`).

Replay layout (documented in docs/gpu.md):
  DIR/<absolute path>                 a file the probes read (e.g. DIR/opt/rocm/.info/version)
  DIR/.gator/commands/<key>.txt       a command's stdout (<key> from COMMANDS, e.g. rocminfo)
  DIR/.gator/commands/<key>.rc        its exit status (default 0); <key>.hang makes it time out
  DIR/.gator/user.json                {"user": ..., "groups": [...], "login_groups": [...]}
  DIR/.gator/devices.json             {"/dev/kfd": {"group": "render", "mode": "0660"}, ...}
  DIR/.gator/site-packages/           the torch/numpy/hub dists the environment probe reads
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple

#: Command keys the probes may run, and the argv each stands for. The key names the replay file.
COMMANDS: dict[str, tuple[str, ...]] = {
    "rocminfo": ("rocminfo",),
    "amd-smi": ("amd-smi", "static", "--json"),
    "amd-smi-version": ("amd-smi", "version"),
    "rocm-smi": ("rocm-smi", "--showproductname", "--json"),
    "nvidia-smi": ("nvidia-smi",),
    "nvidia-smi-query": (
        "nvidia-smi",
        "--query-gpu=index,name,driver_version,memory.total,compute_cap",
        "--format=csv,noheader,nounits",
    ),
    "nvidia-smi-query-nocap": (
        "nvidia-smi",
        "--query-gpu=index,name,driver_version,memory.total",
        "--format=csv,noheader,nounits",
    ),
    "nvidia-smi-q": ("nvidia-smi", "-q"),
    "nvidia-smi-L": ("nvidia-smi", "-L"),
    "rocm-agent-enumerator": ("rocm_agent_enumerator",),
    "lspci": ("lspci", "-nn"),
    "collect-env": ("python", "-m", "torch.utils.collect_env"),
}
#: Keys that are evidence only when recorded (pasted or bundled): running them live costs seconds
#: (collect_env imports torch), so a live probe never does.
#: `nvidia-smi -L` and rocm_agent_enumerator say less than the tools a live probe already runs.
#: lspci repeats what a machine's /sys/bus/pci already tells.
REPLAY_ONLY = frozenset({"collect-env", "nvidia-smi-L", "rocm-agent-enumerator", "lspci"})
#: Where tools live when they are not on PATH: ROCm's bin folder, and WSL's, which holds the
#: nvidia-smi that talks to the Windows driver (not on PATH in many distros).
TOOL_DIRS = ("/opt/rocm/bin", "/usr/lib/wsl/lib")

#: Seconds a probe command may run; rocminfo can hang on a wedged driver (ROCm/rocminfo#37).
COMMAND_TIMEOUT_S = 10.0
#: Files larger than this are not read whole (sysfs/proc files are tiny; this guards replay trees).
MAX_READ_BYTES = 1 << 20


class CommandResult(NamedTuple):
    """What running one command gave: stdout text, or why there is none."""

    key: str
    stdout: str = ""
    returncode: int | None = None
    #: Set when the command produced no usable result: not installed, timed out, failed to start.
    unavailable: str | None = None

    @property
    def ok(self) -> bool:
        return self.unavailable is None and self.returncode == 0


class NodeAccess(NamedTuple):
    """A device node as the current user sees it."""

    path: str
    exists: bool
    readable_writable: bool = False
    group: str | None = None
    mode: str | None = None
    #: False when nothing says whether the node exists (a replay of pasted tool output has no /dev).
    known: bool = True
    #: What told: "stat" (the node itself), a replay's devices.json, or a tool's error message.
    source: str = "stat"


class UserInfo(NamedTuple):
    """Who runs gator: session groups (what processes get) and /etc/group membership (after re-login)."""

    name: str
    groups: tuple[str, ...] = ()
    login_groups: tuple[str, ...] = ()
    is_root: bool = False


def decode(data: bytes) -> str:
    """Bytes from a file or command as text; undecodable bytes become U+FFFD instead of an error."""
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n")


class SystemView:
    """Read-only access to files, commands, device nodes and the user, rooted somewhere."""

    root: str = "/"

    def read_text(self, path: str) -> str | None:
        """Text of an absolute path, or None when absent or unreadable."""
        raise NotImplementedError

    def listdir(self, path: str) -> list[str]:
        """Sorted entry names of a directory; [] when absent."""
        raise NotImplementedError

    def glob(self, pattern: str) -> list[str]:
        """Absolute paths matching a glob of an absolute pattern, sorted."""
        raise NotImplementedError

    def realpath(self, path: str) -> str:
        """Symlinks resolved, as an absolute path inside the view."""
        raise NotImplementedError

    def run(self, key: str, timeout: float = COMMAND_TIMEOUT_S) -> CommandResult:
        """Run the command named by `key` in COMMANDS."""
        raise NotImplementedError

    def has_command(self, key: str) -> bool:
        """Whether `run(key)` has something to run (live) or a recorded answer (replay)."""
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        """Whether a path (file, folder or device node) exists."""
        raise NotImplementedError

    def node_access(self, path: str) -> NodeAccess:
        """Whether the user may open a device node read-write, and its group and mode."""
        raise NotImplementedError

    def user(self) -> UserInfo:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {}


def _safe_join(root: Path, path: str) -> Path:
    rel = PurePosixPath(path).relative_to("/") if path.startswith("/") else PurePosixPath(path)
    if ".." in rel.parts:
        raise ValueError(f"path escapes the sysroot: {path}")
    return root.joinpath(*rel.parts)


def _read_bytes(p: Path) -> bytes | None:
    try:
        with p.open("rb") as fh:
            return fh.read(MAX_READ_BYTES)
    except OSError:
        return None


class LiveSystem(SystemView):
    """The machine gator runs on."""

    root = "/"

    def read_text(self, path: str) -> str | None:
        data = _read_bytes(Path(path))
        return None if data is None else decode(data)

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    def glob(self, pattern: str) -> list[str]:
        import glob as _glob

        return sorted(_glob.glob(pattern))

    def realpath(self, path: str) -> str:
        return os.path.realpath(path)

    def __init__(self) -> None:
        self._found: dict[str, str | None] = {}

    def _exe(self, key: str) -> str | None:
        if key in REPLAY_ONLY:
            return None
        name = COMMANDS[key][0]
        if name not in self._found:  # four nvidia-smi keys, one search of PATH
            import shutil  # (here: a machine without GPU tools never runs one, docs/imports.md)

            dirs = [f"{root}/bin" for root in (os.environ.get("ROCM_PATH"),) if root] + list(TOOL_DIRS)
            self._found[name] = shutil.which(name) or next(
                (c for c in (f"{d}/{name}" for d in dirs) if os.access(c, os.X_OK)), None
            )
        return self._found[name]

    def has_command(self, key: str) -> bool:
        return self._exe(key) is not None

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def run(self, key: str, timeout: float = COMMAND_TIMEOUT_S) -> CommandResult:
        argv = COMMANDS[key]
        if key in REPLAY_ONLY:
            return CommandResult(key, unavailable=f"{' '.join(argv)} is read only from a replay")
        exe = self._exe(key)
        if exe is None:
            where = ", ".join(TOOL_DIRS)
            return CommandResult(key, unavailable=f"{argv[0]} is not installed (not on PATH, {where})")
        import subprocess

        try:
            proc = subprocess.run(
                [exe, *argv[1:]],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return CommandResult(key, unavailable=f"{' '.join(argv)} did not finish within {timeout:.0f} s")
        except OSError as exc:
            return CommandResult(key, unavailable=f"cannot run {argv[0]}: {exc.strerror or exc}")
        return CommandResult(key, stdout=decode(proc.stdout[:MAX_READ_BYTES]), returncode=proc.returncode)

    def node_access(self, path: str) -> NodeAccess:
        try:
            st = os.stat(path)
        except OSError:
            return NodeAccess(path, exists=False)
        group: str | None
        try:
            import grp

            group = grp.getgrgid(st.st_gid).gr_name
        except (ImportError, KeyError):
            group = str(st.st_gid)
        return NodeAccess(
            path,
            exists=True,
            readable_writable=os.access(path, os.R_OK | os.W_OK),
            group=group,
            mode=oct(stat.S_IMODE(st.st_mode))[2:].zfill(4),
        )

    def user(self) -> UserInfo:
        import getpass

        try:
            name = getpass.getuser()
        except Exception:  # no passwd entry in some containers ("I have no name!")
            name = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
        groups: list[str] = []
        login: list[str] = []
        try:
            import grp

            for gid in os.getgroups():
                try:
                    groups.append(grp.getgrgid(gid).gr_name)
                except KeyError:
                    groups.append(str(gid))
            login = [g.gr_name for g in grp.getgrall() if name in g.gr_mem]
            try:
                import pwd

                login.append(grp.getgrgid(pwd.getpwnam(name).pw_gid).gr_name)
            except KeyError:
                pass
        except ImportError:  # not POSIX
            pass
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
        return UserInfo(name, tuple(sorted(set(groups))), tuple(sorted(set(login))), is_root)

    def env(self) -> dict[str, str]:
        return dict(os.environ)


class ReplaySystem(SystemView):
    """A support bundle or hand-made tree: files under DIR, command outputs under DIR/.gator."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root)
        self.root = str(self._root)
        self._gator = self._root / ".gator"

    def _p(self, path: str) -> Path:
        return _safe_join(self._root, path)

    def read_text(self, path: str) -> str | None:
        try:
            p = self._p(path)
        except ValueError:
            return None
        data = _read_bytes(p) if p.is_file() else None
        return None if data is None else decode(data)

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(self._p(path)))
        except (OSError, ValueError):
            return []

    def glob(self, pattern: str) -> list[str]:
        rel = pattern.lstrip("/")
        return sorted("/" + str(p.relative_to(self._root)) for p in self._root.glob(rel))

    def realpath(self, path: str) -> str:
        try:
            real = self._p(path).resolve()
            return "/" + str(real.relative_to(self._root.resolve()))
        except (ValueError, OSError):
            return path

    def has_command(self, key: str) -> bool:
        folder = self._gator / "commands"
        return (folder / f"{key}.txt").is_file() or (folder / f"{key}.hang").exists()

    def exists(self, path: str) -> bool:
        try:
            return self._p(path).exists()
        except ValueError:
            return False

    def run(self, key: str, timeout: float = COMMAND_TIMEOUT_S) -> CommandResult:
        argv = " ".join(COMMANDS[key])
        base = self._gator / "commands" / key
        if (base.parent / f"{key}.hang").exists():
            return CommandResult(key, unavailable=f"{argv} did not finish within {timeout:.0f} s")
        data = _read_bytes(base.with_name(f"{key}.txt"))
        if data is None:
            return CommandResult(key, unavailable=f"{COMMANDS[key][0]} is not installed (not in the sysroot)")
        rc_text = self.read_text(f"/.gator/commands/{key}.rc")
        try:
            rc = int(rc_text.strip()) if rc_text else 0
        except ValueError:
            rc = 1
        return CommandResult(key, stdout=decode(data), returncode=rc)

    def _json(self, name: str) -> dict[str, object]:
        text = self.read_text(f"/.gator/{name}")
        if not text:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def user(self) -> UserInfo:
        data = self._json("user.json")
        raw_groups = data.get("groups")
        groups = tuple(str(g) for g in raw_groups) if isinstance(raw_groups, list) else ()
        raw_login = data.get("login_groups")
        login = tuple(str(g) for g in raw_login) if isinstance(raw_login, list) else groups
        name = str(data.get("user", "user"))
        return UserInfo(name, groups, login, is_root=name == "root")

    def node_access(self, path: str) -> NodeAccess:
        try:
            exists = self._p(path).exists()
        except ValueError:
            exists = False
        if not exists:
            # A tree without /dev (pasted tool output, a container capture) says nothing about nodes.
            # So does a tree of pasted parts (.gator/pasted.json): it lists the nodes it saw, no more.
            known = (self._root / "dev").is_dir() and not (self._gator / "pasted.json").exists()
            return NodeAccess(path, exists=False, known=known, source="sysroot")
        info = self._json("devices.json").get(path)
        info = info if isinstance(info, dict) else {}
        group = str(info.get("group", "render"))
        mode = str(info.get("mode", "0660"))
        user = self.user()
        try:
            bits = int(mode, 8)
        except ValueError:
            bits = 0o660
        # The kernel's rule for a root-owned node: root, a world rw bit, or group rw + membership.
        ok = user.is_root or bits & 0o006 == 0o006 or (bits & 0o060 == 0o060 and group in user.groups)
        return NodeAccess(
            path, exists=True, readable_writable=ok, group=group, mode=mode.zfill(4), source="sysroot"
        )

    def env(self) -> dict[str, str]:
        data = self._json("env.json")
        return {str(k): str(v) for k, v in data.items()}


@dataclass
class Recorder(SystemView):
    """Wraps a view and remembers every file and command output read, for `--save-bundle`."""

    inner: SystemView
    files: dict[str, str] = field(default_factory=dict)
    commands: dict[str, CommandResult] = field(default_factory=dict)
    nodes: dict[str, NodeAccess] = field(default_factory=dict)
    who: UserInfo | None = None

    def read_text(self, path: str) -> str | None:
        text = self.inner.read_text(path)
        if text is not None:
            self.files[path] = text
        return text

    def listdir(self, path: str) -> list[str]:
        names = self.inner.listdir(path)
        if path.rstrip("/").endswith("rocblas/library"):
            for n in names:  # the kernel file names are the arch list; their contents are not needed
                self.files.setdefault(f"{path.rstrip('/')}/{n}", "")
        return names

    def glob(self, pattern: str) -> list[str]:
        return self.inner.glob(pattern)

    def realpath(self, path: str) -> str:
        return self.inner.realpath(path)

    def run(self, key: str, timeout: float = COMMAND_TIMEOUT_S) -> CommandResult:
        result = self.inner.run(key, timeout)
        self.commands[key] = result
        return result

    def has_command(self, key: str) -> bool:
        return self.inner.has_command(key)

    def exists(self, path: str) -> bool:
        found = self.inner.exists(path)
        if found and path.startswith("/dev/"):
            self.nodes.setdefault(path, self.inner.node_access(path))
        elif found and self.inner.listdir(path):
            # A folder (WSL's /usr/lib/wsl/lib): a marker inside makes it exist in the bundle.
            self.files.setdefault(f"{path.rstrip('/')}/.gator-exists", "")
        elif found:
            self.files.setdefault(path, "")  # a marker file such as /.dockerenv: its existence is the fact
        return found

    def node_access(self, path: str) -> NodeAccess:
        result = self.inner.node_access(path)
        self.nodes[path] = result
        return result

    def user(self) -> UserInfo:
        self.who = self.inner.user()
        return self.who

    def env(self) -> dict[str, str]:
        return self.inner.env()

    def entries(self) -> Iterator[tuple[str, str]]:
        """(path inside the bundle, text) for every recorded input."""
        for path, text in sorted(self.files.items()):
            yield path.lstrip("/"), text
        for key, res in sorted(self.commands.items()):
            if res.unavailable is None:
                yield f".gator/commands/{key}.txt", res.stdout
                yield f".gator/commands/{key}.rc", f"{res.returncode}\n"
            elif "did not finish" in res.unavailable:
                yield f".gator/commands/{key}.hang", res.unavailable + "\n"
        if self.who is not None:
            who = {"user": self.who.name, "groups": list(self.who.groups)}
            who["login_groups"] = list(self.who.login_groups)
            yield ".gator/user.json", json.dumps(who, indent=2) + "\n"
        devices = {p: {"group": n.group, "mode": n.mode} for p, n in sorted(self.nodes.items()) if n.exists}
        for p in devices:
            yield p.lstrip("/"), ""
        yield ".gator/devices.json", json.dumps(devices, indent=2) + "\n"
