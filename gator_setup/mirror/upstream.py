"""Client for the upstream hub (huggingface.co or another mirror): revision info, tree pages, file bytes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from gator_setup import __version__
from gator_setup.mirror.ids import HubError, RepoRef

log = logging.getLogger("gator.mirror.upstream")
USER_AGENT = f"gator-mirror/{__version__}"
# Answers about the caller's access or the repo's existence are relayed; anything else (429 rate
# limits, 5xx, odd 4xx) means "upstream unusable now", so the last known commit is served instead.
RELAYED = frozenset({401, 403, 404, 410})


class UpstreamDown(Exception):
    """The upstream could not be reached, timed out or answered 5xx."""


class Upstream:
    """One aiohttp session towards the upstream; counts the requests it makes (tests assert on it)."""

    def __init__(self, base: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.requests = 0
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None, connect=self.timeout, sock_read=self.timeout),
                auto_decompress=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _headers(self, authorization: str | None) -> dict[str, str]:
        # The caller's own token when it has one, so upstream decides what that caller may see.
        if authorization:
            return {"Authorization": authorization}
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        return {}

    async def get_json(self, url: str, authorization: str | None) -> tuple[Any, dict[str, str]]:
        """GET JSON; HubError for 4xx (upstream's own code kept), UpstreamDown for the rest."""
        self.requests += 1
        try:
            async with self.session().get(url, headers=self._headers(authorization)) as resp:
                if resp.status in RELAYED:
                    raise _relay_error(resp)
                if resp.status >= 400:
                    raise UpstreamDown(f"{resp.status} from upstream")
                data = await resp.json(content_type=None)
                return data, dict(resp.headers)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise UpstreamDown(f"{type(exc).__name__}: {exc}") from exc

    async def revision(self, ref: RepoRef, rev: str, authorization: str | None) -> dict[str, Any]:
        url = f"{self.base}/api/{ref.plural}/{ref.id}/revision/{quote(rev, safe='')}"
        data, _ = await self.get_json(url, authorization)
        if not isinstance(data, dict) or not isinstance(data.get("sha"), str):
            raise UpstreamDown("upstream revision info has no sha")
        return data

    async def tree(self, ref: RepoRef, sha: str, authorization: str | None) -> list[dict[str, Any]]:
        """The whole recursive tree, following `Link: rel="next"` pages (wherever they point)."""
        url: str | None = f"{self.base}/api/{ref.plural}/{ref.id}/tree/{sha}?recursive=true&expand=false"
        entries: list[dict[str, Any]] = []
        pages = 0
        while url and pages < 10_000:
            data, headers = await self.get_json(url, authorization)
            if not isinstance(data, list):
                raise UpstreamDown("upstream tree is not a list")
            entries += data
            pages += 1
            url = _next_link(headers.get("Link", ""))
        return entries

    async def check_file(self, ref: RepoRef, sha: str, path: str, authorization: str | None) -> None:
        """HEAD a file without following redirects: raises the upstream's 4xx (e.g. GatedRepo) if any."""
        self.requests += 1
        url = f"{self.base}/{ref.url_path}/resolve/{sha}/{quote(path)}"
        try:
            async with self.session().head(
                url, headers=self._headers(authorization), allow_redirects=False
            ) as resp:
                if resp.status in RELAYED:
                    raise _relay_error(resp)
                if resp.status >= 400:
                    raise UpstreamDown(f"{resp.status} from upstream")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise UpstreamDown(f"{type(exc).__name__}: {exc}") from exc

    def file_url(self, ref: RepoRef, sha: str, path: str) -> str:
        return f"{self.base}/{ref.url_path}/resolve/{sha}/{quote(path)}"

    def file_headers(self, authorization: str | None, offset: int) -> dict[str, str]:
        headers = {**self._headers(authorization), "Accept-Encoding": "identity", "User-Agent": USER_AGENT}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        return headers

    async def open_file(
        self, ref: RepoRef, sha: str, path: str, authorization: str | None, offset: int = 0
    ) -> aiohttp.ClientResponse:
        """GET the bytes (following the upstream's CDN redirects server-side), from `offset`."""
        self.requests += 1
        url = self.file_url(ref, sha, path)
        headers = self.file_headers(authorization, offset)
        try:
            resp = await self.session().get(url, headers=headers, allow_redirects=True)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise UpstreamDown(f"{type(exc).__name__}: {exc}") from exc
        if resp.status in RELAYED:
            err = _relay_error(resp)
            resp.release()
            raise err
        if resp.status >= 400:
            resp.release()
            raise UpstreamDown(f"{resp.status} from upstream")
        if offset and resp.status != 206:
            resp.release()
            raise UpstreamDown("upstream ignored the Range request")
        return resp


def _relay_error(resp: aiohttp.ClientResponse) -> HubError:
    code = resp.headers.get("X-Error-Code")
    message = resp.headers.get("X-Error-Message") or f"Upstream answered {resp.status}."
    return HubError(resp.status, code, message, commit=resp.headers.get("X-Repo-Commit"))


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        if 'rel="next"' in part:
            return part.split(";")[0].strip().strip("<>")
    return None
