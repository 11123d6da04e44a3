"""`gator space deploy` and `gator space template`: parse, call gator_setup.spaces, render."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gator_setup.cli.common import JsonOutputOpt, guarded
from gator_setup.cli.compat import typer_kwargs

if TYPE_CHECKING:
    from gator_setup.spaces.deploy import DeployResult

DEPLOY_EPILOG = """Examples:

  gator space deploy ./demo --repo me/demo                     create or update the Space

  gator space deploy ./demo --repo me/demo --dry-run           show what would be uploaded

  OPENAI_KEY=... gator space deploy ./demo --repo acme/demo --secret OPENAI_KEY --var MODE=prod

  gator space deploy ./demo --repo me/demo --endpoint http://127.0.0.1:8000   a `gator mirror`
"""

TEMPLATE_EPILOG = """Examples:

  gator space template trackio ./runs    Trackio's own dashboard; then trackio.init(space_id=...)
"""

space_app = typer.Typer(
    **typer_kwargs(),
    help="Publish Hugging Face Spaces through the Hub API (no git).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _secret_source(key: str) -> str | None:
    """Environment first; a hidden prompt only when a person is at the terminal."""
    value = os.environ.get(key)
    if value is None and sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"Value for secret {key} (hidden): ") or None
    return value


@space_app.command("deploy", epilog=DEPLOY_EPILOG)
@guarded
def deploy(
    folder: Annotated[
        Path, typer.Argument(help="Folder holding the Space (app file, requirements, README).")
    ],
    repo: Annotated[str, typer.Option("--repo", help="Space id OWNER/NAME (a user or one of its orgs).")],
    sdk: Annotated[
        str | None,
        typer.Option("--sdk", help="gradio, streamlit, docker or static (default: README or guessed)."),
    ] = None,
    hardware: Annotated[
        str | None, typer.Option("--hardware", help="Hardware flavour, e.g. cpu-basic, t4-small.")
    ] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the Space private.")] = False,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="Public variable KEY=VALUE (repeatable).")
    ] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret", help="Secret KEY, value read from the environment variable KEY (repeatable)."
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Extra ignore pattern (file or folder name glob).")
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="Hub URL (default: HF_ENDPOINT or https://huggingface.co)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would happen; touch nothing.")
    ] = False,
    json_: JsonOutputOpt = False,
) -> None:
    """Create or update a Space from a folder: token check, create, upload only what changed."""
    from gator_setup.spaces.deploy import DeployOptions
    from gator_setup.spaces.deploy import deploy as run_deploy

    opts = DeployOptions(
        folder=folder,
        repo=repo,
        sdk=sdk,
        hardware=hardware,
        private=private,
        variables=tuple(var or ()),
        secrets=tuple(secret or ()),
        endpoint=endpoint,
        dry_run=dry_run,
        exclude=tuple(exclude or ()),
    )
    result = run_deploy(opts, _secret_source)
    if json_:
        import json

        sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
    else:
        render(result)


def render(result: DeployResult) -> None:
    """Results on stdout: never a token, never a variable or secret value."""
    from gator_setup.spaces.staging import human_size

    plan = result.plan
    out = sys.stdout.write
    visibility = "private" if plan.private else "public"
    hardware = f", hardware {plan.hardware}" if plan.hardware else ""
    if result.dry_run:
        out("Dry run: nothing was created or uploaded.\n")
        out(f"Would create or update Space {plan.space.repo_id} (sdk {plan.sdk}{hardware}, {visibility})\n")
        out(f"  {plan.url}\n")
        out(f"Would upload {len(plan.files)} files, {human_size(plan.total_bytes)}:\n")
        width = max(len(f.path) for f in plan.files)
        for f in plan.files:
            notes = [
                n
                for n, on in (("placeholders filled", f.filled), ("front matter written", f.generated))
                if on
            ]
            tail = f"  ({', '.join(notes)})" if notes else ""
            out(f"  {f.path:<{width}}  {human_size(f.size):>10}{tail}\n")
        if plan.ignored:
            out(f"Ignored: {', '.join(plan.ignored)}\n")
        if plan.variables:
            out(f"Would set variables: {', '.join(sorted(plan.variables))}\n")
        if plan.secrets:
            out(f"Would set secrets: {', '.join(sorted(plan.secrets))} (values hidden)\n")
        return
    out(f"Space: {plan.url} (sdk {plan.sdk}{hardware}, {visibility}, as {result.user})\n")
    if result.variables_changed:
        out(f"Variables set: {', '.join(result.variables_changed)}\n")
    unchanged = sorted(set(plan.variables) - set(result.variables_changed))
    if unchanged:
        out(f"Variables already set: {', '.join(unchanged)}\n")
    if plan.secrets:
        out(f"Secrets set: {', '.join(sorted(plan.secrets))} (values hidden)\n")
    if result.remote_only:
        out(f"Left on the Space (not in the folder): {', '.join(result.remote_only)}\n")
    if result.nothing_to_change:
        out(f"Nothing to change: all {len(plan.files)} files are already up to date.\n")
        return
    if not result.changed:
        out(f"All {len(plan.files)} files are already up to date; no commit.\n")
        return
    size = human_size(sum(f.size for f in result.changed))
    out(f"Uploaded {len(result.changed)} of {len(plan.files)} files ({size}) in commit {result.commit_oid}\n")
    if result.commit_url:
        out(f"  {result.commit_url}\n")


@space_app.command("template", epilog=TEMPLATE_EPILOG)
@guarded
def template(
    name: Annotated[str, typer.Argument(help="Template name (trackio).")],
    folder: Annotated[Path, typer.Argument(help="Folder to write (created if missing).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")] = False,
) -> None:
    """Write a starter Space folder to edit, then `gator space deploy`."""
    from gator_setup.spaces.templates import load, write_template

    chosen = load(name)
    written = write_template(chosen, folder, force=force)
    for path in written:
        sys.stdout.write(f"wrote {path}\n")
    sys.stdout.write(f"Next: gator space deploy {folder} --repo OWNER/NAME\n")
    if chosen.after_deploy:
        sys.stdout.write(chosen.after_deploy + "\n")
