"""What reaches the mirror's log: secrets redacted and floods rate-limited.

A hostile client can put a token anywhere a raw request line, header or query string is written,
and can make asyncio or aiohttp log one error per connection (about 120 MB in 70 s when the
open-file limit was hit). Every record of the loggers the server writes to passes `LogGuard`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable

REDACTED = "<redacted>"
# Where credentials show up in text: header lines, bearer values, Hub-style tokens, query parameters,
# the path of signed LFS upload URLs (the signature is a credential) and the mirror's Xet tokens.
_PATTERNS = (
    (
        re.compile(r"(?i)\b((?:proxy-)?authorization|cookie|x-api-key)(\s*[:=]\s*)[^\r\n'\"]*"),
        r"\1\2" + REDACTED,
    ),
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s'\",;]+"), r"\1\2" + REDACTED),
    (re.compile(r"\b(hf|api_org)_[A-Za-z0-9]{6,}"), r"\1_" + REDACTED),
    (
        re.compile(
            r"(?i)([?&;](?:token|access_token|api_key|apikey|key|password|passwd|secret|sig|signature)=)"
            r"[^&;\s'\"]*"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(/info/lfs/upload/)[^\s'\"?]*"), r"\1" + REDACTED),
    (re.compile(r"\bgxet_[A-Za-z0-9_.-]+"), "gxet_" + REDACTED),  # Xet access tokens (xet_token.py)
)
ACCESS_LOGGERS = frozenset({"gator.mirror.access", "aiohttp.access"})
# The loggers a mirror process writes to (their children propagate here but do not pass our filter).
GUARDED_LOGGERS = (
    "gator.mirror",
    "gator.mirror.access",
    "gator.mirror.pull",
    "gator.mirror.upstream",
    "gator.mirror.guard",
    "aiohttp.access",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.internal",
    "asyncio",
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with credentials replaced by <redacted>: known `secrets` anywhere, and the usual forms."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class LogGuard(logging.Filter):
    """Redacts every record and lets at most `burst` records of one kind through, then `rate` per second."""

    def __init__(self, rate: float = 5.0, burst: int = 50) -> None:
        super().__init__()
        self.rate = rate
        self.burst = burst
        self.secrets: set[str] = set()
        self._buckets: dict[tuple[str, str], list[float]] = {}  # kind -> [tokens, last time, dropped]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in ACCESS_LOGGERS:  # one line per request: redacted, never dropped
            record.msg, record.args = redact(record.getMessage(), self.secrets), None
            return True
        kind = (record.name, str(record.msg)[:200])
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) > 10_000:
                self._buckets.clear()
            bucket = self._buckets.setdefault(kind, [float(self.burst), now, 0.0])
            bucket[0] = min(float(self.burst), bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
            if bucket[0] < 1.0:
                bucket[2] += 1
                return False
            bucket[0] -= 1.0
            dropped, bucket[2] = int(bucket[2]), 0.0
        message = redact(record.getMessage(), self.secrets)
        if dropped:
            message += f" ({dropped} similar lines suppressed)"
        record.msg, record.args = message, None
        if record.exc_info:
            # The exception text (e.g. a malformed header echoed by the parser) is redacted too.
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True


_GUARD = LogGuard()


def guard_logs(secrets: Iterable[str] = ()) -> LogGuard:
    """Install the (one, process-wide) LogGuard on the mirror's loggers and add `secrets` to it."""
    _GUARD.secrets.update(s for s in secrets if s)
    for name in GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if _GUARD not in logger.filters:
            logger.addFilter(_GUARD)
    return _GUARD


def scrub(text: str) -> str:
    """`text` redacted with every secret the log guard knows (for error bodies and headers)."""
    return redact(text, _GUARD.secrets)
