"""A small Hub-compatible HTTP server for install tests, with fault injection and byte counting.

Serves local folders as model repos on 127.0.0.1 (the subset of the Hub API that huggingface_hub's
model_info / list_repo_tree / hf_hub_download use, per /work/shared/research/hub_compat_notes.md §4),
and can misbehave on purpose: stall mid-file (to interrupt a client), serve corrupted bytes, demand a
token (401), answer as a gated repo (403 GatedRepo). `gator mirror` is the real server; this one exists
so faults can be injected without touching the mirror's code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

SNDBUF = 256 * 1024
LFS_SUFFIXES = (".safetensors", ".bin", ".onnx", ".msgpack", ".pth", ".pt", ".ckpt", ".h5")


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass
class Repo:
    """One served repo: files read once at registration, a deterministic commit sha."""

    root: Path
    files: dict[str, bytes] = field(default_factory=dict)
    commit: str = ""

    def load(self) -> Repo:
        paths = [p for p in sorted(self.root.rglob("*")) if p.is_file()]
        self.files = {p.relative_to(self.root).as_posix(): p.read_bytes() for p in paths}
        h = hashlib.sha1(usedforsecurity=False)
        for path, data in self.files.items():
            h.update(path.encode() + b"\0" + _git_oid(data).encode())
        self.commit = h.hexdigest()
        return self

    def entry(self, path: str) -> dict[str, object]:
        data = self.files[path]
        row: dict[str, object] = {"type": "file", "path": path, "size": len(data), "oid": _git_oid(data)}
        if path.endswith(LFS_SUFFIXES):
            row["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return row

    def etag(self, path: str) -> str:
        data = self.files[path]
        return hashlib.sha256(data).hexdigest() if path.endswith(LFS_SUFFIXES) else _git_oid(data)


@dataclass
class Faults:
    """What to break. Paths are repo-relative file paths."""

    stall_after: dict[str, int] = field(default_factory=dict)  # send N bytes then hang until released
    corrupt: set[str] = field(default_factory=set)  # flip bytes in the body (same length)
    needs_token: set[str] = field(default_factory=set)  # repos answering 401 without Authorization
    gated: set[str] = field(default_factory=set)  # repos whose files answer 403 GatedRepo
    ignore_range: set[str] = field(default_factory=set)  # answer 200 with the whole file to a Range GET
    release: threading.Event = field(default_factory=threading.Event)


class FakeHub:
    """`with FakeHub() as hub: hub.add("org/name", folder)`; `hub.url` is the endpoint."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.faults = Faults()
        self.sent: dict[str, int] = defaultdict(int)  # path -> body bytes written (GET)
        self.gets: dict[str, int] = defaultdict(int)
        self.ranges: list[tuple[str, int]] = []  # (path, start) of every ranged GET
        self.stalled = threading.Event()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()  # open client connections (keep-alive)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = False  # (so that server_close joins the request threads)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, repo_id: str, folder: Path) -> Repo:
        repo = Repo(Path(folder)).load()
        self.repos[repo_id] = repo
        return repo

    def reset_counts(self) -> None:
        with self._lock:
            self.sent.clear()
            self.gets.clear()
            self.ranges.clear()

    def total_sent(self) -> int:
        return sum(self.sent.values())

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop serving and end every request thread: a client's pooled keep-alive connection
        would keep its thread alive for the rest of the test session, and a live thread stops
        `gator scan` from forking its worker processes in later tests."""
        self.faults.release.set()
        self._server.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()  # joins the request threads (daemon_threads is off)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet test output
                pass

            def setup(self) -> None:
                super().setup()
                # A small send buffer keeps `sent` close to what really left for the client: bytes
                # parked in a multi-MB kernel buffer when a client dies would count as transferred.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
                with hub._lock:
                    hub._conns.add(self.connection)

            def finish(self) -> None:
                with hub._lock:
                    hub._conns.discard(self.connection)
                super().finish()

            def _json(self, obj: object, status: int = 200, headers: dict[str, str] | None = None) -> None:
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _error(self, status: int, code: str, message: str, commit: str | None = None) -> None:
                headers = {"X-Error-Code": code, "X-Error-Message": message}
                if commit:
                    headers["X-Repo-Commit"] = commit
                self._json({"error": message}, status, headers)

            def _repo(self, repo_id: str) -> Repo | None:
                repo = hub.repos.get(repo_id)
                if repo is None:
                    self._error(404, "RepoNotFound", "Repository not found")
                    return None
                if repo_id in hub.faults.needs_token and not self.headers.get("Authorization"):
                    self._error(401, "RepoNotFound", "Invalid username or password.")
                    return None
                return repo

            def do_GET(self) -> None:
                self._route()

            def do_HEAD(self) -> None:
                self._route()

            def _route(self) -> None:
                path = unquote(urlparse(self.path).path)
                parts = path.strip("/").split("/")
                if parts[:2] == ["api", "models"] and len(parts) >= 4:
                    repo_id = "/".join(parts[2:4])
                    rest = parts[4:]
                    repo = self._repo(repo_id)
                    if repo is None:
                        return
                    if not rest or rest[0] == "revision":
                        rev = rest[1] if len(rest) > 1 else "main"
                        if rev not in ("main", repo.commit):
                            return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
                        return self._json(
                            {
                                "id": repo_id,
                                "modelId": repo_id,
                                "sha": repo.commit,
                                "private": False,
                                "gated": "auto" if repo_id in hub.faults.gated else False,
                                "downloads": 0,
                                "likes": 0,
                                "tags": [],
                                "lastModified": "2024-01-01T00:00:00.000Z",
                                "siblings": [{"rfilename": p} for p in repo.files],
                            }
                        )
                    if rest[0] == "tree":
                        rev = rest[1] if len(rest) > 1 else "main"
                        if rev not in ("main", repo.commit):
                            return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
                        return self._json([repo.entry(p) for p in repo.files])
                    return self._error(404, "EntryNotFound", "unknown api route")
                if len(parts) >= 5 and parts[2] == "resolve":
                    repo_id = "/".join(parts[:2])
                    rev = parts[3]
                    file_path = "/".join(parts[4:])
                    repo = self._repo(repo_id)
                    if repo is None:
                        return
                    if rev not in ("main", repo.commit):
                        return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
                    if repo_id in hub.faults.gated:
                        return self._error(
                            403, "GatedRepo", f"Access to model {repo_id} is restricted.", repo.commit
                        )
                    if file_path not in repo.files:
                        return self._error(404, "EntryNotFound", "Entry not found", repo.commit)
                    return self._file(repo, file_path)
                self._error(404, "RepoNotFound", "not found")

            def _file(self, repo: Repo, file_path: str) -> None:
                data = repo.files[file_path]
                start = 0
                rng = self.headers.get("Range")
                if (
                    rng
                    and rng.startswith("bytes=")
                    and self.command == "GET"
                    and file_path not in hub.faults.ignore_range
                ):
                    start = int(rng[6:].split("-")[0] or 0)
                    with hub._lock:
                        hub.ranges.append((file_path, start))
                body = data[start:]
                if file_path in hub.faults.corrupt:
                    body = bytes(b ^ 0xFF for b in body[:64]) + body[64:]
                self.send_response(206 if start else 200)
                self.send_header("X-Repo-Commit", repo.commit)
                self.send_header("ETag", f'"{repo.etag(file_path)}"')
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(body)))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if self.command == "HEAD":
                    return
                with hub._lock:
                    hub.gets[file_path] += 1
                stall = hub.faults.stall_after.get(file_path)
                chunk = 64 * 1024
                try:
                    for i in range(0, len(body), chunk):
                        piece = body[i : i + chunk]
                        if stall is not None and hub.sent[file_path] + len(piece) > stall:
                            piece = piece[: max(0, stall - hub.sent[file_path])]
                            self.wfile.write(piece)
                            self.wfile.flush()
                            with hub._lock:
                                hub.sent[file_path] += len(piece)
                            hub.stalled.set()
                            hub.faults.release.wait(60)
                            self.close_connection = True
                            return
                        # counted before the write: once the client holds the last byte, the
                        # count already includes it (counted after, a test that resets the counts
                        # as soon as the client is done could see a straggling increment)
                        with hub._lock:
                            hub.sent[file_path] += len(piece)
                        self.wfile.write(piece)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        return Handler


@contextmanager
def fake_hub() -> Iterator[FakeHub]:
    """Context manager form: a running FakeHub, shut down at the end."""
    with FakeHub() as hub:
        yield hub


def wait_for(cond: object, timeout: float = 30.0) -> bool:
    """Poll a callable until it is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(cond) and cond():
            return True
        time.sleep(0.02)
    return False
