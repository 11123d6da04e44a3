"""Air-gap bundles: export one commit of a repo (commit, tree, blobs, sha256 manifest) to a tar file,
and import it on the isolated side, verifying every blob before it becomes visible."""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

from gator_setup.errors import InputError, UsageError
from gator_setup.mirror.ids import HubError, RepoRef, check_path, check_revision, is_sha, parse_repo_id
from gator_setup.mirror.store import CHUNK, BlobMismatch, Store, atomic_write_json

FORMAT = "gator-mirror-bundle/1"


def _ref_and_rev(spec: str, repo_type: str) -> tuple[RepoRef, str]:
    repo, _, rev = spec.partition("@")
    try:
        return parse_repo_id(repo, repo_type), check_revision(rev or "main")
    except HubError as exc:
        raise UsageError(f"{spec}: {exc.message}") from None


def resolve_any(store: Store, ref: RepoRef, rev: str) -> str | None:
    """Commit for `rev` among local refs and pulled-through upstream refs."""
    sha = store.resolve(ref, rev)
    if sha is None:
        known = store.upstream_refs(ref).get(rev)
        sha = known["sha"] if known else (rev if is_sha(rev) and store.get_commit(ref, rev) else None)
    return sha


def export_bundle(storage: Path, spec: str, out: Path, *, repo_type: str = "model") -> tuple[str, int, int]:
    """Write `ORG/NAME[@REV]` to `out` (tar). Returns (commit, files, bytes)."""
    store = Store(storage)
    ref, rev = _ref_and_rev(spec, repo_type)
    meta = store.repo_meta(ref)
    sha = resolve_any(store, ref, rev) if meta else None
    commit = store.get_commit(ref, sha) if sha else None
    if meta is None or sha is None or commit is None:
        raise UsageError(f"{ref.id}@{rev} is not in {storage}.", hint="Pin it first: gator mirror pin.")
    files: dict[str, Any] = {}
    missing = []
    for path, e in commit["files"].items():
        sha256 = e.get("sha256") or store.sha256_for_oid(e["oid"])
        if not sha256 or not store.has_blob(sha256):
            missing.append(path)
        files[path] = {**e, "sha256": sha256}
    if missing:
        raise UsageError(
            f"{len(missing)} files of {ref.id}@{sha[:10]} are not stored (e.g. {missing[0]}).",
            hint=f"Fetch them first: gator mirror pin {ref.id}@{sha} --storage {storage} --upstream URL.",
        )
    manifest = {
        "format": FORMAT,
        "repo": ref.id,
        "type": ref.type,
        "revision": rev,
        "commit": {**commit, "files": files},
        "meta": {k: meta.get(k) for k in ("private", "gated", "sdk", "info")},
        "sha256": {path: e["sha256"] for path, e in files.items()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    total = 0
    tmp = out.with_name(out.name + ".part")
    with tarfile.open(tmp, "w") as tar:
        data = json.dumps(manifest, indent=1, sort_keys=True).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for sha256 in sorted({e["sha256"] for e in files.values()}):
            tar.add(store.blob_path(sha256), arcname=f"blobs/{sha256}")
            total += store.blob_path(sha256).stat().st_size
    tmp.replace(out)
    return sha, len(files), total


def import_bundle(storage: Path, bundle: Path) -> tuple[str, str, int]:
    """Load a bundle into the store: blobs verified (sha256, size, git id) before publication.

    Returns (repo id, commit, files). The repo is served as a local repo with the bundle's commit id,
    tree and ETags; the exported revision name points at that commit.
    """
    store = Store(storage)
    try:
        tar = tarfile.open(bundle, "r")  # noqa: SIM115 - closed by the `with tar` below
    except tarfile.ReadError:
        # (tarfile's own text lists each compression it tried, over several lines)
        raise InputError(
            bundle,
            "not a bundle: not a tar archive, or a damaged one.",
            hint="Pass a file written by `gator mirror export`.",
        ) from None
    except (OSError, tarfile.TarError) as exc:
        raise InputError(bundle, f"not a readable bundle ({exc})") from None
    with tar:
        try:
            fh = tar.extractfile("manifest.json")
            manifest = json.load(fh) if fh else None
        except (KeyError, ValueError):
            manifest = None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise InputError(bundle, f"no {FORMAT} manifest")
        try:
            ref = parse_repo_id(str(manifest["repo"]), str(manifest["type"]))
            rev = check_revision(str(manifest["revision"]))
            commit = manifest["commit"]
            files = commit["files"]
            for p in files:
                check_path(p)
            if not is_sha(commit["id"]):
                raise ValueError
        except (HubError, KeyError, TypeError, ValueError):
            raise InputError(bundle, "malformed manifest") from None
        wanted = {e["sha256"]: e for e in files.values()}
        for member in tar:
            if not member.name.startswith("blobs/") or not member.isfile():
                continue
            sha256 = member.name.split("/", 1)[1]
            entry = wanted.get(sha256)
            if entry is None or store.has_blob(sha256):
                continue
            src = tar.extractfile(member)
            assert src is not None
            w = store.new_blob()
            try:
                while chunk := src.read(CHUNK):
                    w.write(chunk)
                blob = w.finish(
                    sha256=sha256, size=int(entry["size"]), git_oid=None if entry.get("lfs") else entry["oid"]
                )
            except BlobMismatch as exc:
                raise InputError(bundle, f"blob {sha256[:12]} does not match its manifest: {exc}") from None
            finally:
                w.abort()
            if not entry.get("lfs"):
                store.remember_oid(entry["oid"], blob["sha256"])
        absent = [s for s in wanted if not store.has_blob(s)]
        if absent:
            raise InputError(
                bundle, f"{len(absent)} blobs listed in the manifest are missing from the bundle"
            )
    meta = manifest.get("meta") or {}
    store.create_repo(ref, private=bool(meta.get("private")), sdk=meta.get("sdk"), exist_ok=True)
    full = store.repo_meta(ref) or {}
    full.update(gated=meta.get("gated") or False, info=meta.get("info") or {}, upstream=False)
    store.write_meta(ref, full)
    store.put_commit(ref, commit)
    with store.repo_lock(ref):
        refs = store.refs(ref)
        if not is_sha(rev):
            refs["branches"][rev] = commit["id"]
        refs["branches"].setdefault("main", commit["id"])
        atomic_write_json(store.repo_dir(ref) / "refs.json", refs)
    return ref.id, commit["id"], len(files)
