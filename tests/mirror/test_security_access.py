"""Security: who may read upstream content through a pull-through mirror (issue 17 items 1 and 6).

The attacker is anonymous, holds a token the upstream refuses, or is a local user without upstream
access; the victim content is a gated or private upstream file that an authorised user already
pulled through the mirror. Every route, revision form, method, Range, cache state and --offline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mirror_fakehub import GOOD_TOKEN, FakeHub, FakeRepo, make_files
from mirror_server import http_request, run_client, start_mirror

BIG = "model.safetensors"
FILES = make_files()
GATED, PRIV = "c" * 40, "b" * 40
GOOD = {"Authorization": GOOD_TOKEN}
BAD = {"Authorization": "Bearer someone-else"}


req = http_request


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    h = FakeHub(
        {
            "acme/tiny": FakeRepo(FILES),
            "acme/priv": FakeRepo(FILES, sha=PRIV, private=True),
            "acme/gated": FakeRepo(FILES, sha=GATED, gated=True),
        }
    ).start()
    try:
        yield h
    finally:
        h.stop()


def _pull_as_good(url: str, token: str = "good-token") -> None:
    """An authorised user pulls every gated and private file through the mirror (the real client)."""
    code = """
import json
from huggingface_hub import hf_hub_download
for repo in ("acme/gated", "acme/priv"):
    for f in ("config.json", "model.safetensors"):
        hf_hub_download(repo, f)
print("ok")
"""
    assert run_client(code, url, token=token).stdout.strip().endswith("ok")


def _attack_matrix(url: str, who: dict[str, str]) -> list[tuple[str, str, int, bytes]]:
    """Every way to ask for the stored gated/private bytes; returns the answers that leaked."""
    leaks = []
    for repo, sha in (("acme/gated", GATED), ("acme/priv", PRIV)):
        for rev in ("main", sha):
            for path in (BIG, "config.json"):
                for method, route in (("GET", "resolve"), ("HEAD", "resolve"), ("GET", "raw")):
                    for rng in (None, "bytes=0-99", "bytes=-10"):
                        headers = {**who, **({"Range": rng} if rng else {})}
                        st, h, body = req(url, method, f"/{repo}/{route}/{rev}/{path}", headers)
                        content = FILES[path]
                        if st < 300 or (body and body in content) or ("x-linked-size" in h and st != 307):
                            leaks.append((method, f"{repo}@{rev}/{path} {rng}", st, body[:20]))
                        elif st == 307:
                            leaks.append((method, f"{repo}@{rev}/{path} redirect", st, b""))
    return leaks


@pytest.mark.parametrize("offline", [False, True])
def test_gated_and_private_files_never_reach_refused_callers_after_a_grant(
    hub: FakeHub, tmp_path: Path, offline: bool
) -> None:
    online = start_mirror(tmp_path / "cache", upstream=hub.url, branch_ttl=3600, access_ttl=3600)
    try:
        _pull_as_good(online.url)
        assert any(p.stat().st_size == len(FILES[BIG]) for p in (tmp_path / "cache/blobs").glob("*/*"))
        if offline:
            online.stop()
            server = start_mirror(tmp_path / "cache", upstream=hub.url, offline=True)
        else:
            server = online
        try:
            for who in ({}, BAD):
                assert _attack_matrix(server.url, who) == []
            # The authorised caller still gets the bytes (and the answers above were not outages).
            st, _, body = req(server.url, "GET", f"/acme/gated/resolve/{GATED}/{BIG}", GOOD)
            assert st == 200 and body == FILES[BIG]
            st, h, _ = req(server.url, "GET", f"/acme/gated/resolve/{GATED}/{BIG}")
            assert (st, h["x-error-code"]) == (401, "GatedRepo")
            st, h, _ = req(server.url, "HEAD", f"/acme/gated/resolve/main/{BIG}", BAD)
            assert (st, h["x-error-code"]) == (403, "GatedRepo")
            # Metadata of a gated repo stays public, as on the Hub.
            assert req(server.url, "GET", "/api/models/acme/gated")[0] == 200
        finally:
            if offline:
                server.stop()
    finally:
        online.stop()


def test_real_client_with_a_refused_token_gets_gated_error_from_a_warm_cache(
    hub: FakeHub, tmp_path: Path
) -> None:
    server = start_mirror(tmp_path / "cache", upstream=hub.url, branch_ttl=3600)
    try:
        _pull_as_good(server.url)
        code = """
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError
out = []
for repo in ("acme/gated", "acme/priv"):
    try:
        hf_hub_download(repo, "model.safetensors")
        out.append("LEAKED")
    except GatedRepoError:
        out.append("gated")
    except RepositoryNotFoundError:
        out.append("notfound")
print(",".join(out))
"""
        for token in (None, "someone-else"):
            out = run_client(code, server.url, token=token).stdout.strip().splitlines()[-1]
            assert out == "gated,notfound", (token, out)
    finally:
        server.stop()


def test_upstream_verdict_is_asked_again_when_stale_and_a_refusal_ends_the_grant(
    hub: FakeHub, tmp_path: Path
) -> None:
    server = start_mirror(tmp_path / "cache", upstream=hub.url, branch_ttl=3600, access_ttl=0.5)
    try:
        assert req(server.url, "GET", f"/acme/gated/resolve/{GATED}/{BIG}", GOOD)[0] == 200
        assert req(server.url, "GET", f"/acme/priv/resolve/{PRIV}/config.json", GOOD)[0] == 200
        probes = len(hub.log)
        assert req(server.url, "GET", f"/acme/gated/resolve/{GATED}/{BIG}", GOOD)[0] == 200
        assert len(hub.log) == probes  # a fresh verdict is reused, not asked again
        hub.revoked.add(GOOD_TOKEN)  # the user's access was withdrawn upstream
        time.sleep(0.7)
        assert req(server.url, "GET", f"/acme/gated/resolve/{GATED}/{BIG}", GOOD)[0] == 403
        assert req(server.url, "GET", f"/acme/priv/resolve/{PRIV}/config.json", GOOD)[0] == 404
    finally:
        server.stop()
    # Offline, the withdrawn grant is not honoured either.
    offline = start_mirror(tmp_path / "cache", upstream=hub.url, offline=True)
    try:
        assert req(offline.url, "GET", f"/acme/gated/resolve/{GATED}/{BIG}", GOOD)[0] == 403
    finally:
        offline.stop()


def _tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens"
    path.write_text(
        "hf_alice_local_0001 alice read\n"
        "hf_bob_local_00002  bob   read\n"
        "upstream alice good-token   # alice's own Hub token\n"
    )
    return path


def test_local_tokens_are_never_sent_upstream_and_only_users_with_upstream_access_read_gated(
    hub: FakeHub, tmp_path: Path
) -> None:
    server = start_mirror(
        tmp_path / "cache",
        upstream=hub.url,
        tokens_file=_tokens_file(tmp_path),
        upstream_token="mirror-own-token",
        branch_ttl=3600,
    )
    try:
        _pull_as_good(server.url, token="hf_alice_local_0001")
        code = """
from huggingface_hub import hf_hub_download
print(len(open(hf_hub_download("acme/tiny", "model.safetensors"), "rb").read()))
"""
        assert run_client(code, server.url, token="hf_bob_local_00002").stdout.split()[-1] == "2000000"
        bob = {"Authorization": "Bearer hf_bob_local_00002"}
        assert _attack_matrix(server.url, bob) == []
        assert _attack_matrix(server.url, {}) == []
        st, h, _ = req(server.url, "GET", f"/acme/gated/resolve/{GATED}/{BIG}", bob)
        assert (st, h["x-error-code"]) == (403, "GatedRepo")
        # A token the tokens file does not know is refused locally, never tried upstream.
        assert req(server.url, "GET", f"/acme/gated/resolve/{GATED}/{BIG}", GOOD)[0] == 401
        assert req(server.url, "GET", "/api/models/acme/tiny", BAD)[0] == 401
    finally:
        server.stop()
    sent = set(hub.auth_log)
    assert sent <= {GOOD_TOKEN, "Bearer mirror-own-token"}, sent
    assert "Bearer mirror-own-token" in sent and GOOD_TOKEN in sent


def test_open_mode_still_passes_the_clients_own_token_upstream(hub: FakeHub, tmp_path: Path) -> None:
    # Without a tokens file there are no local tokens: the client's token is its Hub token.
    server = start_mirror(tmp_path / "cache", upstream=hub.url)
    try:
        assert req(server.url, "GET", f"/acme/gated/resolve/{GATED}/config.json", GOOD)[0] == 200
    finally:
        server.stop()
    assert GOOD_TOKEN in hub.auth_log


def test_tokens_file_upstream_lines_are_checked(tmp_path: Path) -> None:
    from gator_setup.errors import InputError
    from gator_setup.mirror.auth import load_tokens

    good = tmp_path / "ok"
    good.write_text("hf_alice_local_0001 alice read\nupstream alice hf_real_token_1\n")
    users = load_tokens(good)
    assert users["hf_alice_local_0001"].upstream_token == "hf_real_token_1"
    assert "hf_real_token_1" not in repr(users)
    for text in (
        "hf_alice_local_0001 alice read\nupstream carol hf_real_token_1\n",  # no such user
        "hf_alice_local_0001 alice read\nupstream alice hf_alice_local_0001\n",  # a local token
        "hf_alice_local_0001 alice read\nupstream alice a\nupstream alice b\n",  # twice
    ):
        bad = tmp_path / "bad"
        bad.write_text(text)
        with pytest.raises(InputError):
            load_tokens(bad)
    # A token literally named "upstream" still reads as a token line.
    odd = tmp_path / "odd"
    odd.write_text("upstream alice write\n")
    assert load_tokens(odd)["upstream"].write


def test_grants_are_stored_as_hashes_never_tokens(hub: FakeHub, tmp_path: Path) -> None:
    server = start_mirror(tmp_path / "cache", upstream=hub.url)
    try:
        assert req(server.url, "GET", f"/acme/gated/resolve/{GATED}/config.json", GOOD)[0] == 200
        assert req(server.url, "GET", f"/acme/priv/resolve/{PRIV}/config.json", GOOD)[0] == 200
    finally:
        server.stop()
    for path in (tmp_path / "cache").rglob("*.json"):
        assert "good-token" not in path.read_text(), path
    grants = json.loads((tmp_path / "cache/repos/models/acme/gated/access.json").read_text())
    assert list(grants) == ["gated"] and len(next(iter(grants["gated"]))) == 64
