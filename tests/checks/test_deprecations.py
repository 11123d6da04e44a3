"""GTR102: the deprecations table is valid and each use is judged against the installed hub."""

from __future__ import annotations

import pytest
from factories import snapshot

from gator_setup.analysis import analyze_source
from gator_setup.checks.base import NotApplicable, Severity
from gator_setup.checks.deprecations import DeprecatedHubApis, deprecations, parse_deprecations
from gator_setup.probes.imports import ImportFacts, ProviderInfo

PROJECT = b"""
import subprocess
from huggingface_hub import hf_hub_download, Repository, cached_download
try:
    from huggingface_hub import HfFolder
except ImportError:
    HfFolder = None

import huggingface_hub as hh

def fetch():
    hf_hub_download("a/b", "f", use_auth_token="x", resume_download=True)
    hh.InferenceApi("gpt2")
    subprocess.check_call(["huggingface-cli", "download", "a/b"])
"""


def facts(hub_version: str | None) -> ImportFacts:
    fa = analyze_source(PROJECT, "/proj/app.py", watched={"huggingface_hub"})
    providers = (
        {}
        if hub_version is None
        else {"huggingface_hub": ProviderInfo("huggingface_hub", "huggingface_hub", hub_version, "/x")}
    )
    return ImportFacts(providers=providers, project_files=[fa])


def verdicts(hub_version: str | None) -> dict[str, Severity]:
    out = {}
    for f in DeprecatedHubApis().run(snapshot(imports=facts(hub_version))):
        key = f.message.split(" is ")[0]
        out[key] = f.severity
        assert f.location is not None and f.location.path == "/proj/app.py" and f.fix
    return out


def test_table_is_complete_and_verified() -> None:
    table = deprecations()
    subjects = {d.subject for d in table}
    for needed in (
        "use_auth_token", "resume_download", "force_filename", "local_dir_use_symlinks",
        "legacy_cache_layout", "Repository", "HfFolder", "InferenceApi", "cached_download", "huggingface-cli",
    ):  # fmt: skip
        assert needed in subjects, needed
    assert all(d.verified and d.replacement for d in table)


def test_errors_when_gone_warnings_while_present() -> None:
    new = verdicts("2.4.0")
    assert new["`huggingface_hub.cached_download`"] is Severity.ERROR
    assert new["`huggingface_hub.Repository`"] is Severity.ERROR
    assert new["keyword `use_auth_token=` in hf_hub_download()"] is Severity.ERROR
    assert new["keyword `resume_download=` in hf_hub_download()"] is Severity.WARNING  # ignored, not fatal
    assert new["the `huggingface-cli` command"] is Severity.ERROR
    assert new["`huggingface_hub.InferenceApi`"] is Severity.ERROR  # reached as hh.InferenceApi(...)
    assert new["`huggingface_hub.HfFolder`"] is Severity.INFO  # guarded by the project itself
    old = verdicts("0.25.2")
    assert set(old.values()) == {Severity.WARNING}
    assert "`huggingface_hub.HfFolder`" in old
    with pytest.raises(NotApplicable):  # no hub installed: nothing to judge against
        verdicts(None)


def test_malformed_table_is_rejected() -> None:
    with pytest.raises(ValueError, match="lacks"):
        parse_deprecations({"api": [{"kind": "symbol", "symbol": "x"}]})
    good = {
        "kind": "kwarg", "kwarg": "k", "deprecated_in": "", "removed_in": "1.0",
        "effect": "TypeError", "replacement": "r", "verified": "v",
    }  # fmt: skip
    assert parse_deprecations({"api": [good]})[0].subject == "k"
    with pytest.raises(ValueError, match="effect"):
        parse_deprecations({"api": [{**good, "effect": "boom"}]})
    with pytest.raises(ValueError, match="Invalid version"):
        parse_deprecations({"api": [{**good, "removed_in": "soon"}]})


def test_a_providers_own_files_are_not_judged() -> None:
    hub_version = "2.4.0"
    own = analyze_source(
        PROJECT, "/site/huggingface_hub/file_download.py", module="huggingface_hub.file_download"
    )
    user = analyze_source(PROJECT, "/proj/app.py", module="app", watched={"huggingface_hub"})
    info = ProviderInfo("huggingface_hub", "huggingface_hub", hub_version, "/x")
    facts = ImportFacts(providers={"huggingface_hub": info}, project_files=[own, user])
    paths = {f.location.path for f in DeprecatedHubApis().run(snapshot(imports=facts)) if f.location}
    assert paths == {"/proj/app.py"}
