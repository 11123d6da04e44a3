"""Every command, every option, a set of bad values: a user's mistake is never "a gator bug".

The commands and their options are read from `--help` (so a new command or option is walked
without editing this file); each run changes one value of an otherwise sensible invocation and
must end with exit 0-3, no traceback and no "this is a gator bug".
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gator_setup.cli.entry import main

#: (command, option) pairs not walked, with the reason.
NOT_WALKED = {
    # resolves the requirement with pip/uv against PyPI: seconds per value; tests/core/test_whatif.py
    # covers its bad input.
    ("doctor", "--what-if"),
    # would run pip in this environment
    ("fix", "--apply"),
}


@dataclass(frozen=True)
class Param:
    """One option or argument of a command, as `--help` shows it."""

    name: str  # "--storage" or "FOLDER"
    metavar: str  # PATH, TEXT, INTEGER, FLOAT, a choice list, "" for a flag
    required: bool
    positional: bool


def _help(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    code = main([*args, "--help"])
    out = capsys.readouterr().out
    assert code == 0, args
    return out


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    try:
        start = lines.index(f"{title}:") + 1
    except ValueError:
        return []
    out = []
    for line in lines[start:]:
        if not line.strip() or not line.startswith(" "):
            break
        out.append(line)
    return out


_OPT = re.compile(r"^  (?:-\w, )?(--[\w-]+)(?:, -\w)?(?: ([A-Z]+|\[[^\]]+\]))?(?:\s|$)")


def leaves(capsys: pytest.CaptureFixture[str], prefix: list[str] | None = None) -> Iterator[list[str]]:
    """Every runnable command path, e.g. ["mirror", "serve"]."""
    prefix = prefix or []
    text = _help(capsys, prefix)
    rows = [line.split() for line in _section(text, "Commands")]
    commands = [r[0] for r in rows if r and not r[0].startswith("-")]
    if not commands:
        yield prefix
        return
    for name in commands:
        yield from leaves(capsys, [*prefix, name])


def params(text: str) -> list[Param]:
    """Options (with metavar and [required]) and positional arguments of one command's help."""
    usage = text.splitlines()[0]
    out: list[Param] = []
    for word in usage.split("[OPTIONS]", 1)[-1].split():
        name = word.strip("[]").rstrip(".")
        if name.isupper():
            out.append(Param(name, "TEXT", not word.startswith("["), True))
    opts = _section(text, "Options")
    for i, line in enumerate(opts):
        m = _OPT.match(line)
        if not m or m.group(1) == "--help":
            continue
        rest = " ".join([line, *(x for x in opts[i + 1 : i + 4] if x.startswith("      "))])
        out.append(Param(m.group(1), m.group(2) or "", "[required]" in rest, False))
    return out


class _NotFound(BaseHTTPRequestHandler):
    """A Hub that knows nothing: 404 RepoNotFound for every request, at once."""

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        body = b'{"error": "Repository not found"}'
        self.send_response(404)
        self.send_header("X-Error-Code", "RepoNotFound")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _answer


@pytest.fixture(scope="module")
def empty_hub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@dataclass
class Places:
    """Files and folders the values point at."""

    root: Path
    store: Path
    folder: Path
    file: Path
    random: Path
    missing: Path
    under_file: Path
    hub: str


@pytest.fixture()
def places(tmp_path: Path, empty_hub: str, monkeypatch: pytest.MonkeyPatch) -> Places:
    (tmp_path / "store").mkdir()
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "app.py").write_text("import os\n")
    (tmp_path / "a.txt").write_text("hello\n")
    (tmp_path / "random.tar.gz").write_bytes(bytes(range(256)) * 8)
    monkeypatch.chdir(tmp_path)
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "GATOR_DEBUG", "GATOR_MIRROR_UPSTREAM_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", empty_hub)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hfhome"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hfcache"))
    monkeypatch.setenv("GATOR_MODELS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("NO_COLOR", "1")
    return Places(
        tmp_path,
        tmp_path / "store",
        tmp_path / "proj",
        tmp_path / "a.txt",
        tmp_path / "random.tar.gz",
        tmp_path / "missing",
        tmp_path / "a.txt" / "sub",
        empty_hub,
    )


def good_value(cmd: list[str], p: Param, at: Places) -> str:
    """A sensible value for a required parameter, by its name."""
    name = p.name.lstrip("-").lower()
    table: dict[str, str] = {
        "storage": str(at.store),
        "repo": "org/name",
        "max-size": "1G",
        "profile": "cpu",
        "names": "sdxl-1.0",
        "name": "trackio" if cmd[:2] == ["space", "template"] else "sdxl-1.0",
        "paths": str(at.folder),
        "folder": str(at.folder) if cmd[0] != "space" or cmd[1] == "deploy" else str(at.root / "new"),
        "file": str(at.root / "out.bundle") if cmd[-1] == "export" else str(at.random),
        "upstream": at.hub,
        "files": str(at.file),
    }
    return table.get(name, "x")


def bad_values(p: Param, at: Places) -> list[str]:
    """What a user might type by mistake for a parameter of this kind."""
    if p.metavar in ("INTEGER",):
        return ["99999", "-1", "abc"]
    if p.metavar in ("FLOAT",):
        return ["-1", "abc", "0"]
    if p.metavar.startswith("["):
        return ["bogus"]
    return [str(at.missing), str(at.file), str(at.folder), str(at.random), str(at.under_file), "", "a/b/c"]


def invocations(cmd: list[str], ps: list[Param], at: Places) -> Iterator[tuple[str, list[str]]]:
    base: dict[str, str] = {p.name: good_value(cmd, p, at) for p in ps if p.required}
    if cmd == ["mirror", "pin"]:
        base["--upstream"] = at.hub
    if cmd == ["install-models"]:
        base["NAMES"] = "sdxl-1.0"
        base["--dry-run"] = ""
    for p in ps:
        if not p.metavar or (cmd[0], p.name) in NOT_WALKED or (" ".join(cmd), p.name) in NOT_WALKED:
            continue
        for value in bad_values(p, at):
            values = {**base, p.name: value}
            args = list(cmd)
            for q in ps:
                if q.name in values:
                    if q.positional:
                        args.append(values[q.name])
                    elif values[q.name] == "" and q.name == "--dry-run":
                        args.append(q.name)
                    else:
                        args += [q.name, values[q.name]]
            if base.get("--dry-run") == "" and "--dry-run" not in args:
                args.append("--dry-run")
            yield f"{p.name}={value!r}", args


@pytest.fixture()
def no_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    """`mirror serve` checks its config and builds the app (store, tokens) but does not block."""
    from gator_setup.mirror import server

    def fake_serve(config: Any, **_: Any) -> None:
        from gator_setup.mirror.app import make_app

        server.check_config(config)
        make_app(config)

    monkeypatch.setattr(server, "serve", fake_serve)


@pytest.mark.slow
def test_every_command_takes_bad_values_as_user_errors(
    places: Places, no_serving: None, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = list(leaves(capsys))
    assert ["mirror", "serve"] in commands and ["doctor"] in commands and len(commands) >= 15
    failures: list[str] = []
    runs = 0
    for cmd in commands:
        ps = params(_help(capsys, cmd))
        for label, args in invocations(cmd, ps, places):
            runs += 1
            try:
                code = main(args)
            except SystemExit as exc:  # (a command must return its code, not exit the test)
                code = exc.code if isinstance(exc.code, int) else 2
            captured = capsys.readouterr()
            text = captured.out + captured.err
            if "gator bug" in text or "Traceback" in text or code not in (0, 1, 2, 3):
                failures.append(f"gator {' '.join(cmd)} [{label}] -> {code}: {captured.err.strip()[-300:]}")
    assert runs > 150
    assert not failures, json.dumps(failures, indent=1)


def _serve(args: list[str], cwd: Path) -> tuple[int, str]:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "GATOR_DEBUG"}
    proc = subprocess.run(
        [sys.executable, "-m", "gator_setup", "mirror", "serve", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )
    return proc.returncode, proc.stderr


def test_mirror_serve_names_the_bad_value_and_the_fix(tmp_path: Path) -> None:
    """The issue's four cases, through the real console script: one line each, exit 2."""
    import socket

    (tmp_path / "afile").write_text("x")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    cases = [
        (["--storage", "afile"], "--storage afile: is a file, not a folder"),
        (["--storage", "afile/hub"], "--storage afile/hub: cannot create the folder (afile is a file)"),
        (["--storage", "hub", "--port", "99999"], "--port 99999: not a TCP port"),
        (["--storage", "hub", "--port", str(port)], f"127.0.0.1:{port} (--port {port}): already in use"),
        (["--storage", "hub", "--upstream", "hf.co"], "--upstream 'hf.co': not an http(s) URL"),
    ]
    try:
        for args, needle in cases:
            code, err = _serve(args, tmp_path)
            assert code == 2, (args, err)
            assert err.count("\n") == 1 and needle in err and "gator bug" not in err, (args, err)
    finally:
        busy.close()


def test_mirror_serve_help_keeps_its_example_block(capsys: pytest.CaptureFixture[str]) -> None:
    out = _help(capsys, ["mirror", "serve"])
    lines = [line.strip() for line in out.splitlines()]
    assert "gator mirror serve --storage /srv/hub --upstream https://huggingface.co --offline" in lines
    assert sum(line.startswith("gator mirror serve --storage") for line in lines) == 4


def test_random_bytes_bundle_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "gpu.tar.gz"
    bundle.write_bytes(bytes(range(256)) * 4)
    for args in (
        ["doctor", "--sysroot", str(bundle)],
        ["mirror", "import-bundle", str(bundle), "-s", str(tmp_path)],
    ):
        code = main(args)
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert "not a tar archive" in err and "could not be opened successfully" not in err


def test_json_shorthand_only_where_there_is_a_format(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in leaves(capsys):
        text = _help(capsys, cmd)
        names = {p.name for p in params(text)}
        if "Shorthand for --format json" in text:
            assert "--format" in names, cmd
