"""Small HTTP helpers: Hub-style error responses, JSON answers, blob responses with our own ETag."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from gator_setup.mirror.ids import HubError


def error_response(exc: HubError) -> web.Response:
    """The Hub's error shape: JSON body, X-Error-Code / X-Error-Message, commit header when known."""
    headers = {"X-Error-Message": _header_safe(exc.message)}
    if exc.code:
        headers["X-Error-Code"] = exc.code
    if exc.commit:
        headers["X-Repo-Commit"] = exc.commit
    return web.Response(
        status=exc.status,
        headers=headers,
        body=json.dumps({"error": exc.message}).encode(),
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


class BlobFileResponse(web.FileResponse):
    """aiohttp's FileResponse (sendfile, Range, 416) but with the Hub ETag instead of mtime-size."""

    def __init__(self, path: Path, etag: str, headers: dict[str, str]) -> None:
        super().__init__(path, headers=headers)
        self._hub_etag = etag

    @property
    def etag(self) -> Any:
        return self._hub_etag

    @etag.setter
    def etag(self, value: Any) -> None:
        # FileResponse sets an mtime-size ETag; the client names its cached blob after the ETag, so it
        # must be the content id instead.
        self._headers["ETag"] = f'"{self._hub_etag}"'
