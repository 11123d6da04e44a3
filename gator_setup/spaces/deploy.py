"""`gator space deploy` as a library call: plan locally, then create, compare and upload."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gator_setup.errors import InputError, UsageError
from gator_setup.spaces import frontmatter
from gator_setup.spaces.naming import SDKS, SpaceId, check_key, normalize_endpoint, parse_space_id, parse_var
from gator_setup.spaces.staging import DEFAULT_IGNORES, StagedFile, collect_files, describe, stage_copy

SecretSource = Callable[[str], "str | None"]


@dataclass(frozen=True)
class DeployOptions:
    """What the user asked for; validated by plan()."""

    folder: Path
    repo: str
    sdk: str | None = None
    hardware: str | None = None
    private: bool = False
    variables: tuple[str, ...] = ()  # KEY=VALUE
    secrets: tuple[str, ...] = ()  # KEY, value read from secret_source
    endpoint: str | None = None
    dry_run: bool = False
    exclude: tuple[str, ...] = ()
    token: str | None = None  # default: HF_TOKEN / `hf auth login`


@dataclass
class DeployPlan:
    """Everything decided before the network is touched."""

    space: SpaceId
    endpoint: str
    sdk: str
    app_file: str | None
    hardware: str | None
    private: bool
    files: list[StagedFile]
    ignored: list[str]
    readme_added: tuple[str, ...]
    variables: dict[str, str] = field(repr=False)
    secrets: dict[str, str] = field(repr=False)

    @property
    def url(self) -> str:
        return self.space.url(self.endpoint)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass
class DeployResult:
    """What a deploy did (or, for a dry run, would do)."""

    plan: DeployPlan
    dry_run: bool
    user: str | None = None
    changed: list[StagedFile] = field(default_factory=list)
    commit_oid: str | None = None
    commit_url: str | None = None
    remote_only: list[str] = field(default_factory=list)  # on the Space, not in the folder: left alone
    variables_changed: list[str] = field(default_factory=list)  # the others already had their value

    @property
    def nothing_to_change(self) -> bool:
        return not self.dry_run and not self.changed and not self.variables_changed

    def as_json(self) -> dict[str, object]:
        """The `--json` document: names of variables and secrets only, never their values."""
        plan = self.plan
        changed = {f.path for f in self.changed}
        return {
            "schema_version": 1,
            "space": plan.space.repo_id,
            "url": plan.url,
            "endpoint": plan.endpoint,
            "sdk": plan.sdk,
            "app_file": plan.app_file,
            "hardware": plan.hardware,
            "private": plan.private,
            "dry_run": self.dry_run,
            "user": self.user,
            "nothing_to_change": self.nothing_to_change,
            "commit": self.commit_oid,
            "commit_url": self.commit_url,
            "files": [
                {
                    "path": f.path,
                    "size": f.size,
                    "sha256": f.sha256,
                    "changed": f.path in changed,
                    "placeholders_filled": f.filled,
                    "generated": f.generated,
                }
                for f in plan.files
            ],
            "ignored": plan.ignored,
            "remote_only": self.remote_only,
            "readme_keys_added": list(plan.readme_added),
            "variables": sorted(plan.variables),
            "variables_changed": self.variables_changed,
            "secrets": sorted(plan.secrets),
        }


def env_secret(key: str) -> str | None:
    """Secrets come from the environment variable of the same name, never from argv."""
    return os.environ.get(key)


def plan(opts: DeployOptions, staging: Path, secret_source: SecretSource = env_secret) -> DeployPlan:
    """Validate every input and build the filled copy in `staging`; no network."""
    space = parse_space_id(opts.repo)
    endpoint = normalize_endpoint(opts.endpoint or os.environ.get("HF_ENDPOINT"))
    if opts.sdk is not None and opts.sdk not in SDKS:
        raise UsageError(f"--sdk {opts.sdk!r} is not one of {', '.join(SDKS)}.")
    variables = dict(parse_var(v) for v in opts.variables)
    for key in opts.secrets:
        check_key(key, "--secret")
    both = sorted(set(variables) & set(opts.secrets))
    if both:
        raise UsageError(f"{', '.join(both)} given as both --var and --secret; pick one.")
    folder = opts.folder
    if not folder.exists():
        raise InputError(folder, "no such folder.", hint="Pass the folder holding the Space's app.")
    if not folder.is_dir():
        raise InputError(folder, "not a folder.", hint="Pass the folder holding the Space's app.")
    kept, ignored = collect_files(folder, DEFAULT_IGNORES + opts.exclude)
    if not kept:
        raise InputError(folder, "no files to upload (empty, or everything matched the ignore rules).")

    files = set(kept)
    values = space.placeholders(endpoint)
    # Placeholders are filled first, so the front matter is read as it will be uploaded
    # (`title: {SPACE_NAME}` is a YAML mapping before filling, a string after).
    filled = stage_copy(folder, staging, kept, values)

    def read_text(rel: str) -> str:
        return (staging / rel).read_text(encoding="utf-8", errors="replace")

    readme_src = read_text("README.md") if "README.md" in files else None
    resolved = frontmatter.resolve(readme_src, files, read_text, opts.sdk, space.name)
    generated: list[str] = []
    if resolved.added:
        (staging / "README.md").write_text(resolved.readme, encoding="utf-8")
        generated.append("README.md")
    # Secret values are read last, so a prompt never comes before a mistake that makes it pointless.
    secrets: dict[str, str] = {}
    for key in opts.secrets:
        value = secret_source(key)
        if value is None:
            raise UsageError(
                f"--secret {key}: the environment variable {key} is not set.",
                hint=f"export {key}=... first (values are never taken from the command line).",
            )
        secrets[key] = value
    return DeployPlan(
        space=space,
        endpoint=endpoint,
        sdk=resolved.sdk,
        app_file=resolved.app_file,
        hardware=opts.hardware,
        private=opts.private,
        files=describe(staging, filled, generated),
        ignored=ignored,
        readme_added=resolved.added,
        variables=variables,
        secrets=secrets,
    )


def deploy(opts: DeployOptions, secret_source: SecretSource = env_secret) -> DeployResult:
    """Plan, then (unless dry run) check the token, create the Space, set settings, upload changes."""
    from gator_setup.spaces.hub import Hub, resolve_token

    with tempfile.TemporaryDirectory(prefix="gator-space-") as tmp:
        staging = Path(tmp)
        the_plan = plan(opts, staging, secret_source)
        if opts.dry_run:
            return DeployResult(the_plan, dry_run=True, changed=list(the_plan.files))
        hub = Hub(the_plan.endpoint, resolve_token(the_plan.endpoint, opts.token))
        who = hub.check_can_write(the_plan.space)
        hub.create_space(the_plan.space, the_plan.sdk, the_plan.hardware, the_plan.private, who)
        variables_changed = hub.set_settings(the_plan.space, the_plan.variables, the_plan.secrets, who)
        remote = hub.remote_files(the_plan.space, who)
        changed = [f for f in the_plan.files if f.path not in remote or not remote[f.path].matches(f)]
        local = {f.path for f in the_plan.files}
        # .gitattributes is written by the Hub itself when it creates a repo.
        extra = sorted(p for p in remote if p not in local and p != ".gitattributes")
        result = DeployResult(
            the_plan,
            dry_run=False,
            user=who.user,
            changed=changed,
            remote_only=extra,
            variables_changed=variables_changed,
        )
        if not changed:
            return result
        # Only what differs goes up: unchanged files leave the staging copy before upload_folder runs.
        keep = {f.path for f in changed}
        for f in the_plan.files:
            if f.path not in keep:
                (staging / f.path).unlink()
        noun = "file" if len(changed) == 1 else "files"
        info = hub.upload(
            the_plan.space,
            str(staging),
            f"Deploy {len(changed)} {noun} with gator",
            list(DEFAULT_IGNORES),
            who,
        )
        result.commit_oid = getattr(info, "oid", None)
        result.commit_url = getattr(info, "commit_url", None)
        return result
