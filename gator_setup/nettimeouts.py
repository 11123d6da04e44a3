"""Network timeouts: the connect and read timeouts every gator request uses, from the environment.

At the root (layer 0) because both the installers and the Space publisher need them; the HTTP
client itself is installers/net.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from gator_setup.errors import UsageError

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
