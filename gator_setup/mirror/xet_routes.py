"""Xet uploads over HTTP: `xet-write-token` and the CAS routes hf_xet uploads through.

huggingface_hub with hf_xet installed sends every `lfs` file this way (whatever the server): it asks
`/api/{type}s/{repo}/xet-write-token/{rev}` for a token and a CAS URL, then, with that token only,

* `GET  {cas}/v1/chunks/{prefix}/{hash}`: global dedup query; always 404 here (see below);
* `POST {cas}/v1/xorbs/default/{hash}`: a xorb, kept once its chunks hash to `hash`;
* `POST {cas}/v1/shards`: the files, as segments of xorbs; each is rebuilt, sha256-checked and
  recorded as uploaded by this writer to this repo, exactly as a verified LFS upload is, so the
  commit's `lfsFile` lines that follow link it (uploads.py).

hf_xet 1.8.0 also tries `POST /v1/xorb-grants/...` and `POST /v2/shards` first and falls back to the
routes above on a 404, which the catch-all gives. Global dedup is not served: answering it would tell
a writer which chunks other writers stored (and hand out their xorbs), and the mirror lets a shard use
only xorbs its own writer uploaded anyway. Downloads never use Xet: the mirror sends no Xet headers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from aiohttp import web

from gator_setup.mirror import hubctx, xet_token
from gator_setup.mirror import xet_format as xf
from gator_setup.mirror.auth import User
from gator_setup.mirror.http import json_response, read_body
from gator_setup.mirror.ids import HubError, RepoRef, check_revision
from gator_setup.mirror.state import MirrorState, public_base, state_of, user_of
from gator_setup.mirror.uploads import record_uploads
from gator_setup.mirror.xet_shard import register_shard
from gator_setup.mirror.xet_store import XetRefused, XetStore

CAS_PATH = "/api/xet-cas"  # the casUrl handed out: {public base}{CAS_PATH}/v1/...
MAX_SHARD = 128 * 1024 * 1024
NO_STORE = {"Cache-Control": "no-store"}
log = logging.getLogger("gator.mirror")
T = TypeVar("T")
# Xet work (hashing xorbs, rebuilding files: minutes for big files) runs in threads of its own: in the
# loop's default executor it could take every thread, and downloads open their files there.
POOL: web.AppKey[ThreadPoolExecutor] = web.AppKey("gator_xet_pool", ThreadPoolExecutor)


def setup(app: web.Application, max_uploads: int) -> None:
    """Give `app` the Xet thread pool: one thread per upload slot (each Xet job holds one)."""
    app[POOL] = ThreadPoolExecutor(max_workers=max(1, max_uploads), thread_name_prefix="gator-xet")

    async def shutdown(app: web.Application) -> None:
        app[POOL].shutdown(wait=False, cancel_futures=True)

    app.on_cleanup.append(shutdown)


async def _in_pool(request: web.Request, fn: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(request.app[POOL], fn)


def _bump(state: MirrorState, key: str) -> None:
    state.stats[key] = state.stats.get(key, 0) + 1


async def write_token(request: web.Request, ref: RepoRef, rev: str) -> web.Response:
    """GET /api/{type}s/{repo}/xet-write-token/{rev}: a token for the CAS routes, for writers of `ref`."""
    state = state_of(request)
    user = state.auth.check_write(ref, user_of(request))
    hubctx.local_meta(request, ref)
    check_revision(rev)
    if request.query.get("create_pr") in ("1", "true"):
        raise HubError(
            400, "BadRequest", "Pull requests are not supported by gator mirror; commit to a branch."
        )
    token, expires = xet_token.mint(state.store, user.name, ref)
    cas_url = public_base(request) + CAS_PATH
    headers = {
        **NO_STORE,
        "X-Xet-Cas-Url": cas_url,
        "X-Xet-Access-Token": token,
        "X-Xet-Token-Expiration": str(expires),
    }
    return json_response({"accessToken": token, "exp": expires, "casUrl": cas_url}, headers=headers)


def _writer_named(state: MirrorState, name: str) -> User | None:
    if state.auth.tokens is None:
        return User("dev", True, anywhere=True) if name == "dev" else None
    return next((u for u in state.auth.tokens.values() if u.name == name and u.write), None)


def _grant(request: web.Request) -> tuple[MirrorState, User, RepoRef]:
    """The writer and repo of the request's Xet token, still a writer there (tokens file may change)."""
    state = state_of(request)
    grant = xet_token.check(state.store, request.headers.get("Authorization"))
    user = state.auth.check_write(grant.ref, _writer_named(state, grant.user))
    hubctx.local_meta(request, grant.ref)
    return state, user, grant.ref


def _refused(user: User, ref: RepoRef, message: str) -> HubError:
    # hf_xet shows the user only the status of a refused upload: the reason goes to the log too.
    log.warning("Xet upload by %s to %s refused: %s", user.name, ref.url_path, message)
    return HubError(400, "BadRequest", message)


def _hash_arg(seg: str) -> str:
    try:
        xf.hash_from_hex(seg)
    except xf.XetFormatError:
        raise HubError(400, "BadRequest", "Malformed hash in the path.") from None
    return seg


async def cas(request: web.Request, segs: list[str], method: str) -> web.StreamResponse:
    """`{CAS_PATH}/...`: route one CAS request (`segs` are the segments after CAS_PATH)."""
    if method == "GET" and len(segs) == 4 and segs[:2] == ["v1", "chunks"]:
        return await chunk_query(request, segs[2], segs[3])
    if method == "POST" and len(segs) == 4 and segs[:2] == ["v1", "xorbs"]:
        return await put_xorb(request, segs[2], segs[3])
    if method == "POST" and segs == ["v1", "shards"]:
        return await put_shard(request)
    raise HubError(404, None, "Not found.")


async def chunk_query(request: web.Request, prefix: str, hex_hash: str) -> web.Response:
    """GET {cas}/v1/chunks/{prefix}/{hash}: no global dedup, whatever is stored (module docstring)."""
    _grant(request)
    _hash_arg(hex_hash)
    if prefix not in ("default", "default-merkledb"):
        raise HubError(400, "BadRequest", "Unknown dedup prefix.")
    raise HubError(404, None, "Chunk not tracked: this mirror does not serve global deduplication.")


async def put_xorb(request: web.Request, prefix: str, hex_hash: str) -> web.Response:
    """POST {cas}/v1/xorbs/default/{hash}: store a xorb whose chunks hash to `hash`."""
    state, user, ref = _grant(request)
    _hash_arg(hex_hash)
    if prefix != "default":
        raise HubError(400, "BadRequest", "Unknown xorb prefix.")
    xs = XetStore(state.store)
    async with state.uploads():
        body = await read_body(request, xf.MAX_XORB, state.config.body_timeout)
        try:
            inserted = await _in_pool(request, lambda: xs.put_xorb(user.name, hex_hash, body))
        except xf.XetFormatError as exc:
            raise _refused(user, ref, f"Invalid xorb: {exc}") from None
        except OSError as exc:
            raise HubError(507, "InsufficientStorage", f"Cannot store xorb: {exc.strerror}") from None
    _bump(state, "xet_xorbs")
    return json_response({"was_inserted": inserted}, headers=NO_STORE)


async def put_shard(request: web.Request) -> web.Response:
    """POST {cas}/v1/shards: rebuild, verify and record every file the shard describes."""
    state, user, ref = _grant(request)
    xs = XetStore(state.store)

    def record(sha256s: list[str]) -> None:
        record_uploads(state.store, ref, user.name, sha256s)

    def work(body: bytes) -> int:
        shard = xf.parse_shard(body)
        register_shard(xs, user.name, shard, max_file_size=state.config.max_file_size, record=record)
        return len(shard.files)

    async with state.uploads():
        body = await read_body(request, MAX_SHARD, state.config.body_timeout)
        try:
            await _in_pool(request, lambda: work(body))
        except (xf.XetFormatError, XetRefused) as exc:
            raise _refused(user, ref, f"Invalid shard: {exc}") from None
        except OSError as exc:
            raise HubError(507, "InsufficientStorage", f"Cannot store files: {exc.strerror}") from None
    _bump(state, "xet_shards")
    return json_response({"result": 1}, headers=NO_STORE)
