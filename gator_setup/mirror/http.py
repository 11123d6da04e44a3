"""Small HTTP helpers: Hub-style error responses, JSON answers, blob responses with our own ETag."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from gator_setup.mirror.ids import HubError
from gator_setup.mirror.logs import scrub
from gator_setup.mirror.ranges import parse_range


def error_response(exc: HubError) -> web.Response:
    """The Hub's error shape: JSON body, X-Error-Code / X-Error-Message, commit header when known."""
    # Messages may quote the request (a repo id, a path): never let a credential come back in them.
    message = scrub(exc.message)
    headers = {"X-Error-Message": _header_safe(message)}
    if exc.code:
        headers["X-Error-Code"] = exc.code
    if exc.commit:
        headers["X-Repo-Commit"] = exc.commit
    headers.update(exc.headers)
    return web.Response(
        status=exc.status,
        headers=headers,
        body=json.dumps({"error": message}).encode(),
        content_type="application/json",
    )


MAX_JSON_BODY = 4 * 1024 * 1024  # repos/create, settings, preupload (256 files a batch), paths-info...


async def read_body(request: web.Request, limit: int, timeout: float) -> bytes:
    """The whole (small) body; 413 past `limit`, 408 when no byte comes for `timeout` seconds."""
    if request.content_length is not None and request.content_length > limit:
        raise HubError(413, "PayloadTooLarge", "Request body too large.")
    out = bytearray()
    while True:
        try:
            chunk = await asyncio.wait_for(request.content.readany(), timeout)
        except asyncio.TimeoutError:
            raise HubError(408, "RequestTimeout", "The request body stalled.") from None
        if not chunk:
            return bytes(out)
        out += chunk
        if len(out) > limit:
            raise HubError(413, "PayloadTooLarge", "Request body too large.")


async def json_body(request: web.Request, timeout: float) -> dict[str, Any]:
    """The body as a JSON object; 400 for anything else (never a 500)."""
    raw = await read_body(request, MAX_JSON_BODY, timeout)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise HubError(400, "BadRequest", "Body must be JSON.") from None
    if not isinstance(data, dict):
        raise HubError(400, "BadRequest", "Body must be a JSON object.")
    return data


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data, separators=(",", ":")).encode(),
        content_type="application/json",
        headers=headers,
    )


def _header_safe(text: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)[:500]


SMALL_FILE = 256 * 1024  # read in the event loop: cheaper than a thread hop plus sendfile


async def blob_response(
    request: web.Request, path: Path, size: int, headers: dict[str, str]
) -> web.StreamResponse:
    """A stored blob (whole, or the one range asked for): HEAD answers exactly what GET would send.

    Range is parsed by `ranges.parse_range` for every size; large bodies go out with sendfile.
    """
    rng = request.headers.get("Range")
    start, count = parse_range(rng, size)
    status = 206 if rng is not None else 200
    extra = {"Content-Range": f"bytes {start}-{start + count - 1}/{size}"} if status == 206 else {}
    if request.method == "HEAD":
        head = web.StreamResponse(status=status, headers={**headers, **extra})
        head.content_length = count
        head.content_type = "application/octet-stream"
        return head
    if count <= SMALL_FILE:
        with open(path, "rb") as fh:
            fh.seek(start)
            body = fh.read(count)
        if len(body) != count:
            raise HubError(503, "BlobMissing", "Stored content is shorter than its entry.")
        resp = web.Response(status=status, body=body, headers={**headers, **extra})
        resp.content_type = "application/octet-stream"
        return resp
    loop = asyncio.get_running_loop()
    fobj = await loop.run_in_executor(None, open, path, "rb")
    try:
        stream = web.StreamResponse(status=status, headers={**headers, **extra})
        stream.content_type = "application/octet-stream"
        stream.content_length = count
        await stream.prepare(request)
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("client went away")
        # The kernel copies page cache -> socket; Python never touches the bytes.
        await loop.sendfile(transport, fobj, start, count)
        await stream.write_eof()
        return stream
    finally:
        fobj.close()
