"""`gator space template`: the trackio starter is Trackio's own Space layout, complete and valid."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from gator_setup.errors import InputError, UnknownNameError
from gator_setup.spaces.deploy import DeployOptions, plan
from gator_setup.spaces.frontmatter import resolve, split
from gator_setup.spaces.templates import available, write


def test_trackio_is_the_layout_trackio_deploys(tmp_path: Path) -> None:
    root = tmp_path / "dash"
    written = write("trackio", root)
    names = {p.relative_to(root).as_posix() for p in written}
    assert names == {"app.py", "requirements.txt", "README.md"}  # no hand-written look-alike logger
    r = resolve((root / "README.md").read_text(), names, lambda p: (root / p).read_text(), None, "dash")
    assert (r.sdk, r.app_file, r.added) == ("gradio", "app.py", ())
    meta = split((root / "README.md").read_text()).meta or {}
    # What trackio's deploy_as_space writes (trackio/README.md): the tag trackio's freeze() looks for,
    # and OAuth with write-repos so the dashboard can rename and delete runs.
    assert meta["tags"] == ["trackio"] and meta["hf_oauth"] is True
    assert meta["hf_oauth_scopes"] == ["write-repos"]

    (line,) = [x for x in (root / "requirements.txt").read_text().splitlines() if x.strip()]
    req = Requirement(line)
    assert req.name == "trackio" and req.extras == {"spaces", "mcp"}
    ops = {s.operator for s in req.specifier}
    assert ops == {">=", "<"}, "a tested range: a lower bound and an upper bound"

    app = ast.parse((root / "app.py").read_text())
    calls = [
        n.func.attr
        for n in ast.walk(app)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "trackio"
    ]
    assert calls == ["show"]  # trackio's dashboard, not an app of gator's own


def test_deploy_fills_the_logging_snippet(tmp_path: Path) -> None:
    """The README's snippet names this Space and a project, both filled by deploy."""
    write("trackio", tmp_path / "dash")
    staging = tmp_path / "staged"
    staging.mkdir()
    p = plan(DeployOptions(tmp_path / "dash", "me/runs"), staging)
    assert sorted(f.path for f in p.files) == ["README.md", "app.py", "requirements.txt"]
    readme = (staging / "README.md").read_text()
    assert 'trackio.init(project="runs", space_id="me/runs"' in readme
    assert "trackio sync --project runs --space-id me/runs" in readme
    assert "{SPACE" not in readme + (staging / "app.py").read_text()
    assert split(readme).meta == split((tmp_path / "dash" / "README.md").read_text()).meta | {
        "title": "Trackio runs"
    }


def test_refuses_to_overwrite_and_unknown_names(tmp_path: Path) -> None:
    write("trackio", tmp_path)
    with pytest.raises(InputError, match="--force"):
        write("trackio", tmp_path)
    write("trackio", tmp_path, force=True)
    with pytest.raises(UnknownNameError, match="trackio"):
        write("trackiox", tmp_path / "x")
    assert available() == ["trackio"]
