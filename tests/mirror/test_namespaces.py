"""Namespaces and orgs from the tokens file, seen through the real huggingface_hub client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from mirror_server import import_repo, run_client, start_mirror

ME = "me-write-token-0001"
OTHER = "other-write-token-3"
TOKENS = f"""# TOKEN USER ROLE
{ME} me write
{OTHER} other write
org team me:write other:read
org viewers me:read
org boss other:admin
"""


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    d = tmp_path_factory.mktemp("ns")
    (d / "src").mkdir()
    (d / "src" / "config.json").write_text("{}\n")
    import_repo(d / "store", d / "src", "other/existing")
    import_repo(d / "store", d / "src", "other/hidden", private=True)
    import_repo(d / "store", d / "src", "team/private", private=True)
    (d / "tokens").write_text(TOKENS)
    server = start_mirror(d / "store", tokens_file=d / "tokens")
    try:
        yield server.url
    finally:
        server.stop()


CLIENT = """
import json
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
api = HfApi()
out = {}
def put(data, repo):
    return lambda: api.upload_file(path_or_fileobj=data, path_in_repo="a.txt", repo_id=repo)
def attempt(name, fn):
    try:
        fn()
        out[name] = "ok"
    except RepositoryNotFoundError:
        out[name] = "not found"
    except HfHubHTTPError as e:
        out[name] = [type(e).__name__, e.response.status_code, str(e)]
attempt("create_other", lambda: api.create_repo("other/x"))
attempt("create_other_space", lambda: api.create_repo("other/s", repo_type="space", space_sdk="gradio"))
attempt("upload_other", put(b"x", "other/existing"))
attempt("create_read_org", lambda: api.create_repo("viewers/x"))
attempt("create_write_org", lambda: api.create_repo("team/x", private=True))
attempt("upload_write_org", put(b"hi", "team/x"))
out["team_files"] = api.list_repo_files("team/x")
attempt("read_member_private", lambda: api.model_info("team/private"))
attempt("read_foreign_private", lambda: api.model_info("other/hidden"))
who = api.whoami()
out["whoami"] = [who["name"], [(o["name"], o["roleInOrg"]) for o in who["orgs"]]]
print(json.dumps(out))
"""


def test_namespaces_and_orgs_with_real_client(url: str) -> None:
    out = json.loads(run_client(CLIENT, url, token=ME).stdout.splitlines()[-1])
    for key, ns in [("create_other", "other"), ("create_other_space", "other"), ("upload_other", "other")]:
        name, status, message = out[key]
        assert (name, status) == ("HfHubHTTPError", 403), out[key]
        assert f"me cannot write to namespace {ns}" in message  # the server's reason reaches the user
    assert out["create_read_org"][1] == 403 and "namespace viewers" in out["create_read_org"][2]
    assert out["create_write_org"] == out["upload_write_org"] == "ok"
    assert "a.txt" in out["team_files"]
    assert out["read_member_private"] == "ok" and out["read_foreign_private"] == "not found"
    assert out["whoami"] == ["me", [["team", "write"], ["viewers", "read"]]]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("tok-00000001 me write\norg team me:owner\n", "ROLE read, write or admin"),
        ("tok-00000001 me write\norg team\n", "org ORG USER:ROLE"),
        ("tok-00000001 me write\norg team ghost:read\n", "user 'ghost' has no token line"),
        ("tok-00000001 me write\norg me me:admin\n", "also a user name"),
    ],
)
def test_bad_org_lines_are_one_line_errors(tmp_path: Path, text: str, needle: str) -> None:
    from gator_setup.errors import InputError
    from gator_setup.mirror.auth import load_tokens

    (tmp_path / "tokens").write_text(text)
    with pytest.raises(InputError) as info:
        load_tokens(tmp_path / "tokens")
    assert needle in str(info.value) and "tokens:2" in str(info.value)


def test_old_format_still_loads(tmp_path: Path) -> None:
    from gator_setup.mirror.auth import load_tokens

    (tmp_path / "tokens").write_text("# old file\nreadtoken123 alice read\nwritetoken12 bob write\n")
    users = load_tokens(tmp_path / "tokens")
    assert {t: (u.name, u.write, u.orgs) for t, u in users.items()} == {
        "readtoken123": ("alice", False, ()),
        "writetoken12": ("bob", True, ()),
    }
