"""HTTP for the installers: connect and read timeouts, retries with backoff, one-line network errors.

Why not huggingface_hub's HfApi: its HTTP client has no timeout by default (huggingface_hub 2.5's
`default_client_factory` passes `timeout=None`), so an endpoint that accepts a connection and never
answers held `gator install-models` silently for minutes, and the way to set one differs between
the requests-based (<1.0) and httpx-based (>=1.0) releases in the supported range. The installers
need four plain REST calls (revision info, tree pages, a HEAD and a small GET), made here with the
standard library the same way on every hub version.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gator_setup import __version__
from gator_setup.errors import NetworkError, UsageError

CONNECT_ENV = "GATOR_CONNECT_TIMEOUT"
READ_ENV = "GATOR_READ_TIMEOUT"
#: Seconds to open a TCP (and TLS) connection: a live Hub answers in well under a second from most
#: places; 10 s leaves room for a slow network without hiding a dead one.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Seconds to wait for the next bytes of an answer. The Hub's tree listing of a large repo takes a
#: few seconds; 20 s suits a slow but live Hub and keeps a dead one under a minute with one retry.
DEFAULT_READ_TIMEOUT = 20.0
#: A metadata request (with its retries) gives up once this many seconds have passed.
DEFAULT_DEADLINE = 50.0
#: Statuses worth asking again: rate limits and server-side trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = f"gator/{__version__}"


@dataclass(frozen=True)
class NetSettings:
    """Timeouts (seconds) and the retry budget of one request."""

    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    attempts: int = 3
    deadline: float = DEFAULT_DEADLINE

    @classmethod
    def from_env(
        cls, *, read_timeout: float | None = None, environ: Mapping[str, str] | None = None
    ) -> NetSettings:
        """Defaults, overridden by $GATOR_CONNECT_TIMEOUT / $GATOR_READ_TIMEOUT, then `read_timeout`."""
        env = os.environ if environ is None else environ
        connect = _seconds(env.get(CONNECT_ENV), CONNECT_ENV, DEFAULT_CONNECT_TIMEOUT)
        read = _seconds(env.get(READ_ENV), READ_ENV, DEFAULT_READ_TIMEOUT)
        if read_timeout is not None:
            read = _seconds(str(read_timeout), "--timeout", read)
        # A deadline shorter than one slow answer would refuse a live Hub: keep room for two tries.
        return cls(connect, read, deadline=max(DEFAULT_DEADLINE, 2 * read + connect))


def _seconds(raw: str | None, name: str, default: float) -> float:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise UsageError(f"{name}={raw!r} is not a number of seconds.", hint=f"Use e.g. {name}=30.")
    return value


class _ReadTimeout:
    """Mixin: after the connection is open (TCP, and TLS for https), switch to the read timeout."""

    read_timeout: float
    sock: socket.socket | None

    def connect(self) -> None:
        try:
            super().connect()  # type: ignore[misc]
        except TimeoutError:
            raise TimeoutError("connect timed out") from None
        if self.sock is not None:
            self.sock.settimeout(self.read_timeout)


class _HTTPConnection(_ReadTimeout, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_ReadTimeout, http.client.HTTPSConnection):
    pass


def _factory(cls: type[Any], read_timeout: float) -> Callable[..., Any]:
    def make(host: str, **kwargs: Any) -> Any:
        conn = cls(host, **kwargs)
        conn.read_timeout = read_timeout
        return conn

    return make


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_factory(_HTTPConnection, self.read_timeout), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            _factory(_HTTPSConnection, self.read_timeout),
            req,
            context=self._context,  # type: ignore[attr-defined]
        )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A HEAD that reaches a redirect has its answer: signed CDN URLs refuse a HEAD anyway."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def opener(settings: NetSettings, *, follow_redirects: bool = True) -> urllib.request.OpenerDirector:
    """A urllib opener whose connections use the settings' connect and read timeouts."""
    handlers: list[Any] = [_HTTPHandler(settings.read_timeout), _HTTPSHandler(settings.read_timeout)]
    if not follow_redirects:
        handlers.append(_NoRedirect())
    return urllib.request.build_opener(*handlers)


def request(
    url: str,
    *,
    token: str | None,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
) -> urllib.request.Request:
    """A request with gator's User-Agent; the token is never forwarded to a redirect target."""
    req = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT, **(headers or {})})
    if token:
        req.add_unredirected_header("Authorization", f"Bearer {token}")
    return req


def is_timeout(exc: BaseException) -> bool:
    """True for a connect or read timeout, however urllib wrapped it."""
    reason = getattr(exc, "reason", None)
    return isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError)


def describe(exc: BaseException, settings: NetSettings) -> str:
    """What went wrong on the wire, in words (timeouts with the number of seconds waited)."""
    if is_timeout(exc):
        text = str(getattr(exc, "reason", exc))
        if "connect" in text.lower():
            return f"no connection within {settings.connect_timeout:g} s"
        return f"no answer within {settings.read_timeout:g} s"
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc) or type(exc).__name__


def network_error(endpoint: str, what: str, exc: BaseException, settings: NetSettings) -> NetworkError:
    """The one-line error for a request that could not be completed, naming what to change."""
    problem = describe(exc, settings)
    if is_timeout(exc):
        hint = f"Check --endpoint / HF_ENDPOINT, or allow more time: {READ_ENV} / {CONNECT_ENV} (seconds)."
    else:
        hint = "Check the network and --endpoint / HF_ENDPOINT."
    return NetworkError(f"Cannot reach {endpoint} ({what}): {problem}.", hint=hint)


def endpoint_of(url: str) -> str:
    """scheme://host[:port] of a URL (what error messages name)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Answer:
    """A finished HTTP exchange: status, headers and (for GET) the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not)."""
        return json.loads(self.body.decode("utf-8"))


def fetch(
    url: str,
    *,
    token: str | None,
    settings: NetSettings,
    what: str,
    method: str = "GET",
    follow_redirects: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> Answer:
    """One idempotent request (GET/HEAD), retried with backoff on network trouble, 429 and 5xx.

    HTTP errors other than those come back as an Answer (the caller maps 401/403/404 to what they
    mean); a request that could not be completed within the deadline is a NetworkError naming the
    endpoint and the setting to change.
    """
    op = opener(settings, follow_redirects=follow_redirects)
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            with op.open(request(url, token=token, method=method), timeout=settings.connect_timeout) as resp:
                body = resp.read() if method != "HEAD" else b""
                return Answer(resp.status, dict(resp.headers.items()), body)
        except urllib.error.HTTPError as exc:
            answer = Answer(exc.code, dict(exc.headers.items()) if exc.headers else {}, b"")
            with contextlib.suppress(Exception):
                answer.body = exc.read()
            if exc.code not in RETRY_STATUSES:
                return answer
            failure: BaseException = exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            failure = exc
        pause = backoff(attempt)
        if not retry_allowed(attempt, time.monotonic() - started, pause, settings):
            if isinstance(failure, urllib.error.HTTPError):
                return Answer(failure.code, dict(failure.headers.items()) if failure.headers else {}, b"")
            raise network_error(endpoint_of(url), what, failure, settings)
        sleep(pause)


def backoff(attempt: int) -> float:
    """Seconds to wait after failed try number `attempt` (1, 2, 4, ... at most 8)."""
    return min(8.0, 2.0 ** (attempt - 1))


def retry_allowed(attempt: int, spent: float, pause: float, settings: NetSettings) -> bool:
    """Another try only if one is left and it could finish in time: a dead endpoint costs at most
    `settings.deadline` seconds."""
    return attempt < settings.attempts and spent + pause + settings.read_timeout <= settings.deadline


def limit_hub_session(settings: NetSettings | None = None) -> bool:
    """Give huggingface_hub's shared HTTP client gator's connect and read timeouts, for code that
    still goes through HfApi (publishing a Space): its default client waits forever (`timeout=None`
    in huggingface_hub 1.x/2.x). Uses only the public `get_session()`; on a requests-based hub
    (0.x), whose session has no timeout setting, it changes nothing and says so (False)."""
    try:
        from huggingface_hub import get_session
    except ImportError:
        return False
    session = get_session()
    if not hasattr(session, "timeout"):
        return False
    s = settings or NetSettings.from_env()
    # (connect, read, write, pool), as httpx's Timeout takes a 4-tuple
    session.timeout = (s.connect_timeout, s.read_timeout, s.read_timeout, s.connect_timeout)
    return True
