"""The NDJSON commit body, read with bounded memory: each `file` line's base64 `content` streams into a
blob on disk while the rest of the line (path, encoding: a few bytes) is kept and parsed as JSON.

huggingface_hub sends every `regular` file inside the commit request, base64 in one line; reading a
line whole cost about five times the file's size in memory (issue 17). Here a line costs at most
`max_meta` bytes plus one read buffer, whatever the file's size.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import StreamReader

from gator_setup.mirror.ids import HubError
from gator_setup.mirror.store import BlobWriter, FileEntry, Store

CONTENT_KEY = b"content"
_STRING_STOP = re.compile(rb'["\\\n]')
FLUSH = 1024 * 1024  # decoded bytes handed to the writer thread at a time


@dataclass
class Line:
    """One commit line: its JSON object and, for a `file` line, the content already stored."""

    obj: Any
    blob: FileEntry | None = None


def _bad(message: str) -> HubError:
    return HubError(400, "BadRequest", message)


class _Content:
    """A base64 JSON string being decoded into a blob (in a worker thread, in order)."""

    def __init__(self, store: Store, max_size: int) -> None:
        self.writer: BlobWriter = store.new_blob()
        self.max_size = max_size
        self.pending = bytearray()  # base64 characters not decoded yet (fewer than 4, or a batch)
        self.decoded = 0

    async def feed(self, chars: bytes, final: bool = False) -> None:
        self.pending += chars
        if len(self.pending) < FLUSH and not final:
            return
        cut = len(self.pending) if final else len(self.pending) - len(self.pending) % 4
        part, self.pending = bytes(self.pending[:cut]), self.pending[cut:]
        try:
            data = base64.b64decode(part, validate=True)
        except (binascii.Error, ValueError):
            raise _bad("Invalid base64 content in a commit line.") from None
        self.decoded += len(data)
        if self.decoded > self.max_size:
            raise HubError(413, "PayloadTooLarge", "File in commit too large for this mirror.")
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.writer.write, data)
        except OSError as exc:
            raise HubError(507, "InsufficientStorage", f"Cannot store upload: {exc.strerror}") from None

    async def finish(self) -> FileEntry:
        await self.feed(b"", final=True)
        try:
            return await asyncio.get_running_loop().run_in_executor(None, self.writer.finish)
        except OSError as exc:
            raise HubError(507, "InsufficientStorage", f"Cannot store upload: {exc.strerror}") from None

    def abort(self) -> None:
        self.writer.abort()


class _Scanner:
    """Splits the byte stream into lines and finds the string value of a `"content"` key in each."""

    def __init__(self, store: Store, max_meta: int, max_size: int) -> None:
        self.store = store
        self.max_meta = max_meta
        self.max_size = max_size
        self.meta = bytearray()  # the line without its content string
        self.in_str = False
        self.escape = False
        self.last_str = bytearray()  # the string just read (only its first bytes matter)
        self.str_start = 0
        self.want_colon = False  # after the key "content"
        self.want_value = False  # after "content":
        self.content: _Content | None = None  # inside the content string
        self.blob: FileEntry | None = None
        self.lines: list[Line] = []

    def _end_line(self) -> None:
        if self.in_str or self.content is not None:
            raise _bad("Malformed NDJSON commit line (unterminated string).")
        text = bytes(self.meta).strip()
        self.meta.clear()
        self.want_colon = self.want_value = False
        blob, self.blob = self.blob, None
        if not text:
            if blob is not None:
                raise _bad("Malformed NDJSON commit line.")
            return
        try:
            obj = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise _bad("Malformed NDJSON commit line.") from None
        self.lines.append(Line(obj, blob))

    async def feed(self, data: bytes) -> None:
        i, n = 0, len(data)
        while i < n:
            if self.content is not None:
                i = await self._feed_content(data, i)
                continue
            if self.in_str and not self.escape:
                # Inside a string only a quote, a backslash or a newline matter: copy up to one at once.
                m = _STRING_STOP.search(data, i)
                j = m.start() if m else n
                if j > i:
                    self.meta += data[i:j]
                    if len(self.meta) > self.max_meta:
                        raise HubError(413, "PayloadTooLarge", "Commit line too large.")
                    i = j
                    continue
            c = data[i]
            i += 1
            if c == 0x0A and not self.in_str:
                self._end_line()
                continue
            self.meta.append(c)
            if len(self.meta) > self.max_meta:
                raise HubError(413, "PayloadTooLarge", "Commit line too large.")
            if self.in_str:
                if self.escape:
                    self.escape = False
                elif c == 0x5C:
                    self.escape = True
                elif c == 0x22:
                    self.in_str = False
                    n_str = len(self.meta) - 1 - self.str_start
                    self.want_colon = (
                        n_str == len(CONTENT_KEY) and self.meta[self.str_start : -1] == CONTENT_KEY
                    )
                elif c == 0x0A:
                    raise _bad("Malformed NDJSON commit line (newline in a string).")
                continue
            if c in b" \t\r":
                continue
            if self.want_colon:
                self.want_colon = False
                self.want_value = c == 0x3A
                continue
            if self.want_value and c == 0x22:
                self.want_value = False
                if self.blob is not None:
                    raise _bad("Two contents in one commit line.")
                self.meta.pop()
                self.meta += b'""'
                self.content = _Content(self.store, self.max_size)
                continue
            self.want_value = False
            if c == 0x22:
                self.in_str = True
                self.str_start = len(self.meta)

    async def _feed_content(self, data: bytes, i: int) -> int:
        """Consume base64 characters from data[i:] up to the closing quote; returns the new index."""
        assert self.content is not None
        end = data.find(b'"', i)
        stop = len(data) if end < 0 else end
        chunk = data[i:stop]
        if b"\\" in chunk:
            # JSON may escape "/" as "\/"; nothing else can appear in base64.
            chunk = chunk.replace(b"\\/", b"/")
            if chunk.endswith(b"\\") and end < 0:
                # An escape split across reads: keep the backslash for the next read.
                chunk = chunk[:-1]
                stop -= 1
            if b"\\" in chunk:
                raise _bad("Invalid base64 content in a commit line.")
        await self.content.feed(chunk)
        if end < 0:
            if stop < len(data):  # the held-back backslash
                self._carry = data[stop:]
            return len(data)
        content, self.content = self.content, None
        self.blob = await content.finish()
        return end + 1

    _carry: bytes = b""

    def close(self) -> None:
        if self.content is not None:
            self.content.abort()
            self.content = None


async def commit_lines(
    body: StreamReader,
    store: Store,
    *,
    read_timeout: float,
    max_meta: int = 16 * 1024 * 1024,
    max_size: int = 50 * 1024**3,
) -> AsyncIterator[Line]:
    """Yield the lines of an NDJSON commit body; file contents are already stored as blobs.

    A read that brings nothing for `read_timeout` seconds ends the request (408). Blobs of lines that
    are not used stay unreferenced in the store, like any other unreferenced blob (prune removes them).
    """
    scanner = _Scanner(store, max_meta, max_size)
    try:
        while True:
            try:
                data = await asyncio.wait_for(body.readany(), read_timeout)
            except asyncio.TimeoutError:
                raise HubError(408, "RequestTimeout", "The commit body stalled.") from None
            if scanner._carry:
                data, scanner._carry = scanner._carry + data, b""
            if not data:
                break
            await scanner.feed(data)
            while scanner.lines:
                yield scanner.lines.pop(0)
        scanner._end_line()
        while scanner.lines:
            yield scanner.lines.pop(0)
    finally:
        scanner.close()
