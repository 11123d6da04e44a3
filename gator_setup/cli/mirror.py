"""`gator mirror`: serve a Hugging-Face-compatible hub / pull-through cache, import, list and prune it."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from gator_setup.cli.common import guarded
from gator_setup.cli.compat import typer_kwargs

app = typer.Typer(
    **typer_kwargs(),
    help="A Hugging-Face-compatible local hub and pull-through cache (point clients at it with HF_ENDPOINT).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

StorageOpt = Annotated[Path, typer.Option("--storage", "-s", help="Storage folder of the mirror.")]

# (\b keeps Click from re-flowing the block into one paragraph)
SERVE_EPILOG = """Examples:

\b
  gator mirror serve --storage /srv/hub                                  # local hub on 127.0.0.1:8090
  gator mirror serve --storage /srv/hub --upstream https://huggingface.co  # pull-through cache
  gator mirror serve --storage /srv/hub --upstream https://huggingface.co --offline
  gator mirror serve --storage /srv/hub --host 0.0.0.0 --tokens /etc/gator/tokens --workers 8
Then: export HF_ENDPOINT=http://127.0.0.1:8090
"""


@app.command("serve", epilog=SERVE_EPILOG)
@guarded
def serve(
    storage: StorageOpt,
    upstream: Annotated[
        str | None, typer.Option("--upstream", help="Upstream hub or mirror to pull through from.")
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Serve stored content only; never contact upstream.")
    ] = False,
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to bind.")] = 8090,
    tokens: Annotated[
        Path | None,
        typer.Option("--tokens", help="Tokens file: 'TOKEN USER read|write' and 'org ORG USER:ROLE' lines."),
    ] = None,
    branch_ttl: Annotated[
        float, typer.Option("--branch-ttl", help="Seconds before a branch is re-resolved upstream.")
    ] = 60.0,
    lfs_uploads: Annotated[
        bool,
        typer.Option(
            "--lfs-uploads/--no-lfs-uploads",
            help="Answer preupload with 'lfs' by the Hub's rules (files then go through Xet or Git LFS); "
            "--no-lfs-uploads sends every file inline in the commit.",
        ),
    ] = True,
    access_ttl: Annotated[
        float,
        typer.Option("--access-ttl", help="Seconds an upstream verdict on private/gated access is reused."),
    ] = 60.0,
    public_url: Annotated[
        str | None, typer.Option("--public-url", help="Base URL clients use (for absolute Link headers).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Processes serving the port (default: one per core)."),
    ] = None,
) -> None:
    """Serve the mirror until interrupted."""
    import os

    from gator_setup.core import inputs
    from gator_setup.mirror.config import MirrorConfig
    from gator_setup.mirror.server import serve as run
    from gator_setup.mirror.workers import default_workers

    # The user's own mistakes, each named with its fix, before anything starts.
    inputs.writable_folder(storage, "--storage")
    if upstream:
        upstream = inputs.http_url(upstream, "--upstream")
    if public_url:
        public_url = inputs.http_url(public_url, "--public-url")
    if tokens is not None:
        inputs.readable_file(tokens, "--tokens")
    inputs.bindable(host, port)
    config = MirrorConfig(
        storage=storage,
        host=host,
        port=port,
        upstream=upstream,
        offline=offline,
        tokens_file=tokens,
        upstream_token=os.environ.get("GATOR_MIRROR_UPSTREAM_TOKEN") or None,
        branch_ttl=branch_ttl,
        access_ttl=access_ttl,
        lfs_uploads=lfs_uploads,
        public_url=public_url,
    )
    try:
        run(config, workers=workers or default_workers())
    except OSError as exc:
        # (the port was free a moment ago: something took it in between)
        if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise inputs.bind_error(host, port, exc) from None
        raise


@app.command(
    "import", epilog="Example:\n  gator mirror import ./my-model --repo acme/my-model --storage /srv/hub\n"
)
@guarded
def import_(
    folder: Annotated[Path, typer.Argument(help="Folder to publish as one commit.")],
    repo: Annotated[str, typer.Option("--repo", help="Repo id 'namespace/name'.")],
    storage: StorageOpt,
    repo_type: Annotated[str, typer.Option("--type", help="model, dataset or space.")] = "model",
    revision: Annotated[str, typer.Option("--revision", help="Branch to commit to.")] = "main",
    private: Annotated[bool, typer.Option("--private", help="Create the repo as private.")] = False,
    message: Annotated[str | None, typer.Option("--message", "-m", help="Commit message.")] = None,
) -> None:
    """Publish a local folder as a repo commit in the store (works while the server runs)."""
    from gator_setup.mirror.core import import_dir

    with _user_errors(storage, create=True):
        sha, count = import_dir(
            storage, folder, repo, repo_type=repo_type, branch=revision, private=private, message=message
        )
    print(f"{repo} ({repo_type}) {revision} -> {sha}: {count} files")


@app.command("ls")
@guarded
def ls(
    storage: StorageOpt,
    json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """List repos, their branches and stored sizes."""
    import json

    from gator_setup.mirror.core import list_repos

    with _user_errors(storage, create=False, write=False):
        rows = list_repos(storage)
    if json_out:
        print(json.dumps({"schema_version": 1, "repos": rows}, indent=1))
        return
    if not rows:
        print("(no repos)")
    for r in rows:
        branches = ", ".join(f"{b}={s[:10]}" for b, s in r["branches"].items())
        print(f"{r['type']:<8} {r['id']:<40} {_human(r['bytes']):>9}  {r['commits']} commits  {branches}")


@app.command(
    "prune",
    epilog="Example:\n  gator mirror prune --storage /srv/hub --max-size 2T   # exit 1 if still over 2T\n",
)
@guarded
def prune(
    storage: StorageOpt,
    max_size: Annotated[str, typer.Option("--max-size", help="Keep at most this much blob data, e.g. 50G.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be removed.")] = False,
    include_pinned: Annotated[
        bool, typer.Option("--include-pinned", help="Also evict blobs that `gator mirror pin` stored.")
    ] = False,
) -> None:
    """Evict least-recently-served cached blobs until the store fits; say what stays and why."""
    import sys

    from gator_setup.mirror.core import parse_size, prune_store

    limit = parse_size(max_size)
    with _user_errors(storage, create=False):
        r = prune_store(storage, limit, dry_run=dry_run, include_pinned=include_pinned)
    verb = "would remove" if dry_run else "removed"
    print(f"{verb} {r.removed} blobs ({_human(r.freed)}); {_human(r.kept)} kept")
    for kept, why in (
        (r.published, "of repos published here (never evicted)"),
        (r.pinned, "pinned by `gator mirror pin` (--include-pinned evicts them)"),
        (r.recent, "served in the last minute"),
        (r.busy, "could not be removed (permissions or I/O error)"),
    ):
        if kept.blobs:
            print(f"not evicted: {kept.blobs} blobs ({_human(kept.bytes)}) {why}")
    if r.temp.files:
        print(f"removed {r.temp.files} abandoned temp files ({_human(r.temp.bytes)})")
    if r.over:
        print(
            f"gator mirror prune: {_human(r.kept)} of blobs remain, over --max-size {max_size}.",
            file=sys.stderr,
        )
        raise typer.Exit(1)


TypeOpt = Annotated[str, typer.Option("--type", help="model, dataset or space.")]


@app.command(
    "pin",
    epilog="Example:\n  gator mirror pin stabilityai/sdxl-turbo --storage /srv/hub --upstream https://huggingface.co"
    " --include '*.json' --include 'unet/*'\n",
)
@guarded
def pin(
    repo: Annotated[str, typer.Argument(help="ORG/NAME[@REV] to prefetch.")],
    storage: StorageOpt,
    upstream: Annotated[str | None, typer.Option("--upstream", help="Hub or mirror to fetch from.")] = None,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="Only files matching this glob (repeatable).")
    ] = None,
    repo_type: TypeOpt = "model",
) -> None:
    """Prefetch a snapshot into the store (verified; an interrupted run resumes)."""
    import os

    from gator_setup.mirror.pin import pin as run_pin

    token = os.environ.get("GATOR_MIRROR_UPSTREAM_TOKEN") or os.environ.get("HF_TOKEN") or None
    with _user_errors(storage, create=True):
        sha, files, fetched = run_pin(
            storage, repo, upstream, repo_type=repo_type, include=include, token=token
        )
    print(f"{repo} -> {sha}: {files} files stored ({_human(fetched)} fetched)")


@app.command(
    "export", epilog="Example:\n  gator mirror export acme/model@main model.gmb --storage /srv/hub\n"
)
@guarded
def export(
    repo: Annotated[str, typer.Argument(help="ORG/NAME[@REV] to export.")],
    file: Annotated[Path, typer.Argument(help="Bundle file to write (tar).")],
    storage: StorageOpt,
    repo_type: TypeOpt = "model",
) -> None:
    """Write a verifiable bundle (commit, tree, blobs, sha256 manifest) for an air-gapped mirror."""
    from gator_setup.core import inputs
    from gator_setup.mirror.bundle import export_bundle

    with _user_errors(storage, create=False, write=False):
        inputs.new_file(file, "FILE")
        sha, files, size = export_bundle(storage, repo, file, repo_type=repo_type)
    print(f"{file}: {repo} commit {sha}, {files} files, {_human(size)}")


@app.command("import-bundle", epilog="Example:\n  gator mirror import-bundle model.gmb --storage /srv/hub\n")
@guarded
def import_bundle(
    file: Annotated[Path, typer.Argument(help="Bundle written by `gator mirror export`.")],
    storage: StorageOpt,
) -> None:
    """Load a bundle: every blob is verified before it is served (same commit and ETags as exported)."""
    from gator_setup.mirror.bundle import import_bundle as run_import

    with _user_errors(storage, create=True):
        repo, sha, files = run_import(storage, file)
    print(f"{repo} -> {sha}: {files} files imported")


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@contextmanager
def _user_errors(storage: Path, *, create: bool, write: bool = True) -> Iterator[None]:
    """Check --storage first; the store's own refusals (a branch or repo that does not exist, a bad
    id: HubError, the server's error type) are the user's to fix, not a gator bug."""
    from gator_setup.core import inputs
    from gator_setup.errors import UsageError
    from gator_setup.mirror.ids import HubError

    inputs.writable_folder(storage, "--storage", create=create, write=write)
    try:
        yield
    except HubError as exc:
        raise UsageError(exc.message) from None
