"""A test upstream that behaves like huggingface.co where it matters to a mirror.

Three origins on 127.0.0.1: the hub API, a "CDN" that large (LFS) files are redirected to, and a
"link host" that tree pages point at with absolute `Link` headers. LFS entries carry `xetHash` and
their HEAD answers carry Xet headers, as the real Hub does. Every request is recorded with its
User-Agent, and faults can be switched on for the CDN (drop mid-file, wrong bytes, 500, hang, pause).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from gator_setup.mirror import gitobj

GOOD_TOKEN = "Bearer good-token"


@dataclass
class FakeRepo:
    files: dict[str, bytes]
    sha: str = "a" * 40
    private: bool = False
    gated: bool = False


@dataclass
class Faults:
    drop_after: int | None = None  # CDN closes the connection after this many bytes (once)
    wrong_bytes: bool = False  # CDN flips a byte
    status: int | None = None  # CDN answers this status
    hang: bool = False  # CDN never answers
    pause_at: int | None = None  # CDN waits for `release` after this many bytes
    release: threading.Event = field(default_factory=threading.Event)
    api_status: int | None = None  # the API (revision, tree) answers this status


class FakeHub:
    """Start with .start(); .url is the hub, .cdn_url and .link_url the other origins."""

    def __init__(self, repos: dict[str, FakeRepo], page_size: int = 2) -> None:
        self.repos = repos
        self.page_size = page_size
        self.faults = Faults()
        self.log: list[tuple[str, str, str, str]] = []  # (origin, method, path, user-agent)
        self.auth_log: list[str] = []  # every Authorization header received, on any origin
        self.revoked: set[str] = set()  # Authorization values no longer accepted
        self.tamper: Any = None  # a malicious upstream: called with each tree page's entries, returns them
        self.url = self.cdn_url = self.link_url = ""
        self._loop = asyncio.new_event_loop()
        self._runners: list[web.AppRunner] = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # ---- helpers
    def requests(
        self, origin: str | None = None, *, client_only: bool = False
    ) -> list[tuple[str, str, str, str]]:
        return [
            r
            for r in self.log
            if (origin is None or r[0] == origin) and (not client_only or "hf_hub" in r[3])
        ]

    def accepts(self, authorization: str | None) -> bool:
        return authorization == GOOD_TOKEN and authorization not in self.revoked

    def _blob_info(self, data: bytes, path: str) -> dict[str, Any]:
        lfs = gitobj.is_lfs_path(path, len(data))
        sha256 = hashlib.sha256(data).hexdigest()
        return {
            "lfs": lfs,
            "sha256": sha256,
            "oid": gitobj.git_blob_sha1(gitobj.lfs_pointer(sha256, len(data)) if lfs else data),
        }

    def _repo(self, request: web.Request) -> tuple[str, FakeRepo]:
        rid = f"{request.match_info['ns']}/{request.match_info['name']}"
        repo = self.repos.get(rid)
        auth = request.headers.get("Authorization")
        if repo is None or (repo.private and not self.accepts(auth)):
            raise web.HTTPNotFound(headers={"X-Error-Code": "RepoNotFound"})
        return rid, repo

    # ---- hub routes
    async def revision(self, request: web.Request) -> web.Response:
        if self.faults.api_status:
            return web.Response(status=self.faults.api_status, text="slow down")
        rid, repo = self._repo(request)
        return web.json_response(
            {
                "id": rid,
                "sha": repo.sha,
                "private": repo.private,
                "gated": "manual" if repo.gated else False,
                "downloads": 5,
                "likes": 1,
                "tags": ["test"],
                "lastModified": "2024-01-02T03:04:05.000Z",
                "siblings": [{"rfilename": p} for p in sorted(repo.files)],
            }
        )

    async def tree(self, request: web.Request) -> web.Response:
        _, repo = self._repo(request)
        entries: list[dict[str, Any]] = []
        for path in sorted(repo.files):
            data = repo.files[path]
            info = self._blob_info(data, path)
            e: dict[str, Any] = {"type": "file", "oid": info["oid"], "size": len(data), "path": path}
            if info["lfs"]:
                e["lfs"] = {"oid": info["sha256"], "size": len(data), "pointerSize": 130}
                e["xetHash"] = "f" * 64
            entries.append(e)
        if self.tamper is not None:
            entries = self.tamper(entries)
        start = int(request.query.get("cursor", "0"))
        page = entries[start : start + self.page_size]
        headers = {}
        if start + self.page_size < len(entries):
            q = {**request.query, "cursor": str(start + self.page_size)}
            headers["Link"] = f'<{self.link_url}{request.path}?{urlencode(q)}>; rel="next"'
        return web.json_response(page, headers=headers)

    async def resolve(self, request: web.Request) -> web.StreamResponse:
        rid, repo = self._repo(request)
        path = request.match_info["path"]
        if request.match_info["rev"] not in ("main", repo.sha):
            raise web.HTTPNotFound(headers={"X-Error-Code": "RevisionNotFound"})
        if path not in repo.files:
            raise web.HTTPNotFound(headers={"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.sha})
        if repo.gated and not self.accepts(request.headers.get("Authorization")):
            raise web.HTTPForbidden(headers={"X-Error-Code": "GatedRepo", "X-Error-Message": "gated"})
        data = repo.files[path]
        info = self._blob_info(data, path)
        headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{info["oid"]}"'}
        if info["lfs"]:
            headers.update(
                {
                    "X-Linked-Etag": f'"{info["sha256"]}"',
                    "X-Linked-Size": str(len(data)),
                    "X-Xet-Hash": "f" * 64,
                    "Link": f'<{self.url}/api/models/{rid}/xet-read-token/{repo.sha}>; rel="xet-auth"',
                    "Location": f"{self.cdn_url}/blob/{info['sha256']}",
                }
            )
            return web.Response(status=302, headers=headers)
        return web.Response(body=data, headers=headers)

    # ---- CDN
    async def cdn(self, request: web.Request) -> web.StreamResponse:
        wanted = request.match_info["sha"]
        data = next(
            (
                d
                for r in self.repos.values()
                for d in r.files.values()
                if hashlib.sha256(d).hexdigest() == wanted
            ),
            None,
        )
        if data is None:
            raise web.HTTPNotFound()
        f = self.faults
        if f.status:
            return web.Response(status=f.status, text="upstream error")
        while f.hang and not f.release.is_set():
            await asyncio.sleep(0.05)
        if f.wrong_bytes:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start = 0
        rng = request.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
        body = data[start:]
        resp = web.StreamResponse(status=206 if rng else 200)
        resp.content_length = len(body)
        if rng:
            resp.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        await resp.prepare(request)
        pos = 0
        step = 64 * 1024
        while pos < len(body):
            end = min(pos + step, len(body))
            if f.drop_after is not None and start + end > f.drop_after:
                await resp.write(body[pos : f.drop_after - start])
                f.drop_after = None  # only once
                assert request.transport is not None
                request.transport.close()
                return resp
            if f.pause_at is not None and start + pos >= f.pause_at and not f.release.is_set():
                await asyncio.get_running_loop().run_in_executor(None, f.release.wait, 30)
            await resp.write(body[pos:end])
            pos = end
        await resp.write_eof()
        return resp

    # ---- plumbing
    def _app(self, origin: str) -> web.Application:
        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            self.log.append((origin, request.method, request.path_qs, request.headers.get("User-Agent", "")))
            if "Authorization" in request.headers:
                self.auth_log.append(request.headers["Authorization"])
            resp: web.StreamResponse = await handler(request)
            return resp

        app = web.Application(middlewares=[record])
        if origin in ("hub", "link"):
            app.router.add_get("/api/models/{ns}/{name}/revision/{rev}", self.revision)
            app.router.add_get("/api/models/{ns}/{name}/tree/{rev}", self.tree)
        if origin == "hub":
            app.router.add_route("*", "/{ns}/{name}/resolve/{rev}/{path:.+}", self.resolve)
        if origin == "cdn":
            app.router.add_get("/blob/{sha}", self.cdn)
        return app

    def start(self) -> FakeHub:
        self._thread.start()

        async def boot() -> list[str]:
            urls = []
            for origin in ("hub", "cdn", "link"):
                runner = web.AppRunner(self._app(origin), access_log=None)
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                self._runners.append(runner)
                urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
            return urls

        self.url, self.cdn_url, self.link_url = asyncio.run_coroutine_threadsafe(boot(), self._loop).result(
            10
        )
        return self

    def stop(self) -> None:
        async def down() -> None:
            for r in self._runners:
                await r.cleanup()

        self.faults.release.set()
        asyncio.run_coroutine_threadsafe(down(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def make_files(big: int = 2_000_000) -> dict[str, bytes]:
    """Files of a small model repo: two regular files and one large LFS file."""
    return {
        "config.json": b'{"model_type": "fake"}\n',
        "sub/readme.txt": b"nested\n",
        "model.safetensors": bytes((i * 7) % 251 for i in range(big)),
    }


def write_files(files: dict[str, bytes], folder: Path) -> Path:
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    return folder


__all__ = ["GOOD_TOKEN", "FakeHub", "FakeRepo", "make_files", "quote", "write_files"]
