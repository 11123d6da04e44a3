"""The web URLs clients print: repo pages, `/blob/` (a file page), `/raw/` (the git blob: content, or the
LFS pointer for LFS files, as the Hub) and `/commit/{sha}` (what a commit changed). Plain HTML, no assets."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from aiohttp import web

from gator_setup.mirror import gitobj, history, hubctx
from gator_setup.mirror.http import blob_response
from gator_setup.mirror.ids import RepoRef
from gator_setup.mirror.routes_read import locate, locate_file

RAW_IN_MEMORY = 1024 * 1024  # larger raw files go out with sendfile
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>
{body}
</body></html>
"""


def _page(title: str, body: str, headers: dict[str, str] | None = None) -> web.Response:
    text = PAGE.format(title=html.escape(title), body=body)
    return web.Response(text=text, content_type="text/html", headers=headers)


def _link(href: str, text: str) -> str:
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def _file_list(ref: RepoRef, rev: str, files: dict[str, Any]) -> str:
    base = f"/{ref.url_path}/blob/{quote(rev, safe='')}/"
    rows = [f"<li>{_link(base + quote(p), p)} ({e['size']} bytes)</li>" for p, e in sorted(files.items())]
    return "<ul>\n" + "\n".join(rows) + "\n</ul>"


async def repo_page(request: web.Request, ref: RepoRef) -> web.Response:
    """GET /{repo}: the files of main (the URL create_repo and upload calls print)."""
    loc = await locate(request, ref, "main")
    body = f"<p>{ref.type} · main · commit {_link(f'/{ref.url_path}/commit/{loc.sha}', loc.sha)}</p>"
    return _page(ref.id, body + _file_list(ref, "main", loc.commit["files"]), loc.extra_headers)


async def blob_or_raw(
    request: web.Request, ref: RepoRef, kind: str, rev: str, path: str
) -> web.StreamResponse:
    """GET /{repo}/blob/{rev}/{path} (a page) or /{repo}/raw/{rev}/{path} (the git blob's bytes)."""
    state = hubctx.state_of(request)
    # The same decision as /resolve/ (gated upstream content included), before any byte.
    loc, entry = await locate_file(request, ref, rev, path)
    resolve = f"/{ref.url_path}/resolve/{quote(rev, safe='')}/{quote(path)}"
    if kind == "blob":
        rows = [
            f"<p>{html.escape(ref.id)} · {html.escape(rev)} · {html.escape(path)}</p>",
            f"<p>{entry['size']} bytes · git blob {entry['oid']}"
            + (f" · LFS sha256 {entry['sha256']}" if entry.get("lfs") else "")
            + "</p>",
            f"<p>{_link(resolve, 'download')} · {_link(resolve.replace('/resolve/', '/raw/', 1), 'raw')}</p>",
        ]
        return _page(path, "\n".join(rows), loc.extra_headers)
    headers = {"X-Repo-Commit": loc.sha, "ETag": f'"{entry["oid"]}"', **loc.extra_headers}
    if entry.get("lfs"):
        pointer = gitobj.lfs_pointer(str(entry["sha256"]), int(entry["size"]))
        return web.Response(body=pointer, content_type="text/plain", headers=headers)
    sha256 = entry.get("sha256")
    if sha256 and state.store.has_blob(sha256):
        state.store.touch_blob(sha256)  # a use, for prune (usage.py)
        path_on_disk = state.store.blob_path(sha256)
        if int(entry["size"]) > RAW_IN_MEMORY:
            return await blob_response(request, path_on_disk, int(entry["size"]), headers)
        body = path_on_disk.read_bytes()
        return web.Response(body=body, content_type="text/plain", charset="utf-8", headers=headers)
    # Not stored yet (an upstream copy): the resolve route fetches it; its bytes are the same.
    return web.Response(status=307, headers={"Location": resolve, **headers})


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str]]:
    out = [(p, "added") for p in after if p not in before]
    out += [(p, "modified") for p in after if p in before and before[p]["oid"] != after[p]["oid"]]
    out += [(p, "deleted") for p in before if p not in after]
    return sorted(out)


async def commit_page(request: web.Request, ref: RepoRef, sha: str) -> web.Response:
    """GET /{repo}/commit/{sha}: title, author, date, parents and the files the commit changed."""
    state = hubctx.state_of(request)
    loc = await locate(request, ref, sha)
    commit = loc.commit
    parents = list(commit.get("parents") or [])
    before = (state.store.get_commit(ref, parents[0]) or {}).get("files", {}) if parents else {}
    title, message = history.split_message(str(commit.get("message") or ""))
    rows = [
        f"<p>commit {loc.sha} · {html.escape(str(commit.get('author') or ''))} · "
        f"{html.escape(str(commit.get('time') or ''))}</p>",
        f"<pre>{html.escape(message)}</pre>" if message else "",
        "<p>parents: "
        + (", ".join(_link(f"/{ref.url_path}/commit/{p}", p) for p in parents) or "none")
        + "</p>",
        "<ul>",
        *(
            f"<li>{change}: {_link(f'/{ref.url_path}/blob/{loc.sha}/{quote(p)}', p)}</li>"
            if change != "deleted"
            else f"<li>deleted: {html.escape(p)}</li>"
            for p, change in _changes(before, commit["files"])
        ),
        "</ul>",
    ]
    return _page(title or loc.sha, "\n".join(r for r in rows if r), loc.extra_headers)
