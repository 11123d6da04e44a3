"""Which tool printed a pasted text: split terminal transcripts at their prompts, name each part.

Support gets `rocminfo` or `nvidia-smi` text pasted into a bug report, often several commands in
one paste with their prompts. `split_pasted` finds the prompt lines of the known commands and
`classify` names each part by its command line or, without one, by what only that tool prints.
The result says where each part belongs in a replay sysroot (docs/gpu.md): a command key under
`.gator/commands/`, a file path (`/proc/version`), or the user's groups and device nodes.
Pure text -> data, like the other parsers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Known command words -> how to name their output; a prompt line must run one of these.
_TOOLS = (
    r"rocminfo|rocm-smi|amd-smi|rocm_agent_enumerator|nvidia-smi(?:\.exe)?|groups|id|ls|stat|cat|uname"
    r"|lspci|python[0-9.]*|collect_env\.py"
)
#: A shell prompt ('$ ', '# ', 'user@host:~$ ', '(venv) ... % ', '❯ ', 'PS C:\\> ', Colab's '!')
#: right before a known command; never a table row ('|').
_PROMPT = re.compile(
    r"^\s*(?:!|(?:[^|\n]{0,80}?[$#%>❯]|PS [^>]*>)\s*)"
    r"(?P<cmd>(?:sudo\s+)?(?:\S*/)?(?:" + _TOOLS + r")\b.*)$"
)
#: A GPU tool's command line pasted without its prompt ("nvidia-smi -L", "rocm-smi --showallinfo").
_BARE = re.compile(
    r"^\s*(?P<cmd>(?:sudo\s+)?(?:\S*/)?(?:rocminfo|rocm-smi|amd-smi|rocm_agent_enumerator|nvidia-smi(?:\.exe)?)"
    r"(?:\s+(?:-|static|version|list)[^\n]*)?)\s*$"
)


@dataclass(frozen=True)
class Piece:
    """One tool's output from a paste, and where it goes in a replay."""

    #: `.gator/commands/<key>.txt` key, or "file:/proc/version", "groups", "id", "devices".
    target: str
    text: str
    #: The command line it came after, when the paste had one.
    command: str | None = None


def split_pasted(text: str) -> list[tuple[str | None, str]]:
    """(command line or None, output) parts of a paste, in order."""
    text = text.replace("\r\n", "\n")
    parts: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.split("\n"):
        m = _PROMPT.match(line) or _BARE.match(line)
        if m:
            parts.append((m.group("cmd").strip(), []))
        else:
            parts[-1][1].append(line)
    return [
        (cmd, "\n".join(lines).strip("\n") + "\n") for cmd, lines in parts if cmd or "".join(lines).strip()
    ]


def _by_command(cmd: str) -> str | None:
    words = re.sub(r"^sudo\s+", "", cmd).split()
    tool = words[0].rsplit("/", 1)[-1].removesuffix(".exe")
    args = " ".join(words[1:])
    if tool == "nvidia-smi":
        if re.search(r"(^|\s)(-q|--query|-a)(\s|$)", args):
            return "nvidia-smi-q"
        if "--query-gpu" in args:
            return "nvidia-smi-query"
        return "nvidia-smi-L" if re.search(r"(^|\s)(-L|--list-gpus)(\s|$)", args) else "nvidia-smi"
    if tool == "amd-smi":
        return "amd-smi-version" if args.startswith("version") else "amd-smi" if "static" in args else None
    if tool in ("rocminfo", "rocm-smi", "groups", "id"):
        return tool
    if tool == "rocm_agent_enumerator":
        return "rocm-agent-enumerator"
    if tool == "lspci":
        return "lspci"
    if tool in ("ls", "stat") and "/dev" in args:
        return "devices"
    if tool == "cat" and "/proc/driver/nvidia/version" in args:
        return "file:/proc/driver/nvidia/version"
    if (tool == "cat" and "/proc/version" in args) or (tool == "uname" and "-a" in args):
        return "file:/proc/version"
    if "collect_env" in cmd:
        return "collect-env"
    return None


#: (target, pattern) in priority order: the first that matches names a part without a prompt.
_SIGNATURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "collect-env",
        re.compile(r"PyTorch version:.*\n(?:.*\n)*?.*(CUDA used to build PyTorch|Is CUDA available)"),
    ),
    ("nvidia-smi-q", re.compile(r"NVSMI LOG|^\s*Attached GPUs\s*:|<nvidia_smi_log>", re.M)),
    ("nvidia-smi-L", re.compile(r"^GPU [0-9]+: .+ \(UUID: GPU-", re.M)),
    ("rocm-agent-enumerator", re.compile(r"\A\s*(?:gfx[0-9]{1,2}[0-9a-f]{2,3}[ \t]*\n?)+\Z")),
    ("file:/proc/driver/nvidia/version", re.compile(r"^NVRM version:", re.M)),
    (
        "nvidia-smi",
        re.compile(
            r"NVIDIA-SMI|(?:Driver|KMD) Version:|couldn't communicate with the NVIDIA|initialize NVML"
        ),
    ),
    (
        "nvidia-smi-query",
        re.compile(
            r"^\s*(?:index|name)\b.*,\s*(?:driver_version|memory\.total|compute_cap)"
            r"|^[0-9]+, [^,]*(?:NVIDIA|Tesla|Quadro|GeForce|TITAN|RTX)[^,]*, ",
            re.M | re.I,
        ),
    ),
    (
        "rocminfo",
        re.compile(
            r"HSA Agents|HSA System Attributes|ROCk module|Unable to open /dev/kfd"
            r"|amdgcn-amd-amdhsa--|^\s*Marketing Name:|^\s*Name:\s+gfx[0-9]|^Agent [0-9]+\s*$",
            re.M,
        ),
    ),
    ("amd-smi-version", re.compile(r"AMDSMI Tool:")),
    (
        "amd-smi",
        re.compile(r"TARGET_GRAPHICS_VERSION|target_graphics_version|MARKET_NAME|\"gpu_data\"|market_name"),
    ),
    (
        "rocm-smi",
        re.compile(
            r"ROCm System Management Interface|^\s*GPU\[[0-9]+\]|\"card[0-9]+\"\s*:|Card [Ss]eries", re.M
        ),
    ),
    ("file:/proc/version", re.compile(r"^Linux(?: version)? \S+.*(?:microsoft|#[0-9]+)", re.M | re.I)),
    ("id", re.compile(r"^uid=[0-9]+\([^)]*\) gid=", re.M)),
    (
        "lspci",
        re.compile(
            r"^(?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] (?:VGA compatible|3D|Display) controller",
            re.M | re.I,
        ),
    ),
    (
        "devices",
        re.compile(r"^[cd][rwx-]{9}\S*\s+[0-9]+\s+\S+\s+\S+.*(?:kfd|renderD[0-9]+|card[0-9]+|dxg)\s*$", re.M),
    ),
)
#: Tools whose output may share one prompt-less paste (rocminfo then rocm-smi): each gets it all.
_SHAREABLE = frozenset({"rocminfo", "rocm-smi", "amd-smi", "amd-smi-version"})


def classify(command: str | None, text: str) -> list[str]:
    """Targets for one part: by its command line when known, else by content ([] when unknown)."""
    if command:
        target = _by_command(command)
        if target is not None:
            return [target]
    found = [t for t, sig in _SIGNATURES if sig.search(text)]
    if not found:
        return []
    if found[0] in _SHAREABLE:
        return [t for t in found if t in _SHAREABLE]
    return found[:1]


def pieces(text: str) -> list[Piece]:
    """Every recognised tool output in a paste."""
    out = []
    for command, body in split_pasted(text):
        for target in classify(command, body):
            out.append(Piece(target, body, command))
    return out


def parse_groups(target: str, text: str) -> tuple[str | None, list[str]]:
    """(user, groups) from `id` or `groups` output."""
    if target == "id":
        user = re.search(r"uid=[0-9]+\(([^)]*)\)", text)
        groups = re.findall(r"[0-9]+\(([^)]*)\)", text.split("groups=", 1)[1]) if "groups=" in text else []
        return (user.group(1) if user else None), groups
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    name, _, rest = line.partition(" : ")  # `groups alice` prints "alice : alice video"
    return (name.strip() or None, rest.split()) if rest else (None, line.split())


def parse_devices(command: str | None, text: str) -> dict[str, dict[str, str]]:
    """/dev path -> {"group", "mode"} from `ls -l` or `stat` output."""
    base = "/dev/dri" if command and re.search(r"/dev/dri/?\s*$", command) else "/dev"
    out: dict[str, dict[str, str]] = {}
    for m in re.finditer(
        r"^c([rwx-]{9})\S*\s+[0-9]+\s+\S+\s+(\S+)\s+.*?\s(\S*(?:kfd|renderD[0-9]+|card[0-9]+|dxg))\s*$",
        text,
        re.M,
    ):
        bits, group, name = m.groups()
        mode = sum(1 << (8 - i) for i, c in enumerate(bits) if c != "-")
        path = name if name.startswith("/") else f"{base}/{name}"
        out[path] = {"group": group, "mode": f"{mode:04o}"}
    st = re.search(
        r"File:\s*(/dev/\S+).*?Access:\s*\(([0-7]{4})/.*?Gid:\s*\(\s*[0-9]+/\s*(\S+?)\)", text, re.S
    )
    if st:
        out[st.group(1)] = {"group": st.group(3), "mode": st.group(2)}
    # Only the GPU nodes, by their exact names: these paths become files in the replay tree.
    return {p: v for p, v in out.items() if _NODE.fullmatch(p)}


_NODE = re.compile(r"/dev/(?:kfd|dxg|nvidiactl|nvidia[0-9]+|dri/(?:renderD|card)[0-9]+)")
