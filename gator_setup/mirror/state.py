"""What every handler shares, held by the aiohttp app under `STATE`: config, store, auth, pull-through.

Handlers reach it with `state_of(request)`; no mirror module keeps module-level state, so the route
modules import this one and never each other (nor `app.py`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gator_setup.mirror.auth import Auth, User
from gator_setup.mirror.config import MirrorConfig
from gator_setup.mirror.pullthrough import PullThrough
from gator_setup.mirror.store import Store


@dataclass
class MirrorState:
    """What every handler needs."""

    config: MirrorConfig
    store: Store
    auth: Auth
    pull: PullThrough | None = None  # set when --upstream is given
    started: float = field(default_factory=time.time)
    stats: dict[str, int] = field(default_factory=lambda: {"requests": 0, "served_bytes": 0})
    upload_slots: asyncio.Semaphore | None = None  # bounds upload bodies received at once
    guard: Any = None  # the ConnectionGuard of the listening socket (counters for tests and stats)

    def uploads(self) -> asyncio.Semaphore:
        """The semaphore bounding concurrent upload bodies (created in the serving loop)."""
        if self.upload_slots is None:
            self.upload_slots = asyncio.Semaphore(max(1, self.config.max_uploads))
        return self.upload_slots


STATE: web.AppKey[MirrorState] = web.AppKey("gator_mirror_state", MirrorState)


def state_of(request: web.Request) -> MirrorState:
    """The mirror state of the app serving `request`."""
    return request.app[STATE]


def user_of(request: web.Request) -> User | None:
    """The caller (None for anonymous); HubError 401 for an unknown token."""
    return state_of(request).auth.identify(request.headers.get("Authorization"))


def public_base(request: web.Request) -> str:
    """The base URL clients reach this mirror at (`--public-url`, else scheme and Host of the request)."""
    cfg = state_of(request).config
    if cfg.public_url:
        return cfg.public_url.rstrip("/")
    return f"{request.scheme}://{request.host}"
