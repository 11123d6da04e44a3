"""Project detection: the nearest project at or above the working directory, none -> no project scan;
the project walk respects .gitignore and never enters virtual environments or CACHEDIR.TAG folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gator_setup.cli.entry import main
from gator_setup.core.project import find_project, gitignore_excludes, resolve_project

BAD = "from huggingface_hub import HfFolder\nHfFolder.get_token()\n"  # GTR102 on hub >= 1.0


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the search stops at the home folder: make it this test's folder, whatever is above it
    monkeypatch.setenv("HOME", str(tmp_path))


@pytest.mark.parametrize(
    "marker", ["pyproject.toml", "setup.py", "setup.cfg", "requirements-dev.txt", ".git"]
)
def test_nearest_project_at_or_above(tmp_path: Path, marker: str) -> None:
    proj = tmp_path / "work" / "proj"
    deep = proj / "src" / "pkg"
    deep.mkdir(parents=True)
    (proj / marker).mkdir() if marker == ".git" else (proj / marker).write_text("")
    assert find_project(deep) == proj.resolve()
    assert find_project(proj) == proj.resolve()
    assert resolve_project(None, deep) == (str(proj.resolve()), None)
    assert resolve_project("elsewhere", deep) == ("elsewhere", None)  # --project as given


def test_no_project_is_none_with_a_note(tmp_path: Path) -> None:
    wheels = tmp_path / "unpacked"
    wheels.mkdir()
    (tmp_path / ".git").mkdir()  # a stray ~/.git is not everyone's project
    assert find_project(wheels) is None
    found, note = resolve_project(None, wheels)
    assert found is None and note is not None and "--project DIR" in note and str(wheels) in note


def _findings(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, object], list[str]]:
    code = main(["doctor", "--only", "GTR101,GTR102", "--json", *args])
    data = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    # (findings in installed packages' own files are not the point here)
    paths = [str(f["location"]["path"]) for f in data["findings"] if f.get("location")]
    return data, [p for p in paths if "-packages" not in p]


def test_doctor_outside_a_project_scans_no_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("huggingface_hub")
    folder = tmp_path / "unpacked"
    folder.mkdir()
    (folder / "someone_else.py").write_text(BAD)
    monkeypatch.chdir(folder)
    data, paths = _findings([], capsys)
    assert paths == [] and data["context"]["project"] is None  # type: ignore[index]
    assert any("no project code scanned" in n for n in data["notes"])  # type: ignore[attr-defined]
    gtr102 = next(c for c in data["checks"] if c["code"] == "GTR102")  # type: ignore[attr-defined]
    assert gtr102["status"] == "skipped"
    _, paths = _findings(["--project", "."], capsys)  # asked for: scanned
    assert paths and paths[0].endswith("someone_else.py")


def test_project_walk_respects_gitignore_venvs_and_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = pytest.importorskip("huggingface_hub")
    if hub.__version__.split(".")[0] == "0":
        pytest.skip("HfFolder still exists in huggingface_hub 0.x")
    proj = tmp_path / "proj"
    for sub in ("src", "generated", "cache", "envs/old", "src/logs"):
        (proj / sub).mkdir(parents=True)
        (proj / sub / "bad.py").write_text(BAD)
    (proj / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (proj / ".gitignore").write_text("# build output\n/generated/\nlogs\n!keep.py\n")
    (proj / "cache" / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
    (proj / "envs" / "old" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    monkeypatch.chdir(proj / "src")
    data, paths = _findings([], capsys)
    assert data["context"]["project"] == str(proj.resolve())  # type: ignore[index]
    rel = sorted(str(Path(p).resolve().relative_to(proj.resolve())) for p in paths)
    assert rel == ["src/bad.py"]


def test_gitignore_globs() -> None:
    text = "# c\n\n*.pyc\n/build/\ndocs/_build\n**/tmp\n!important.py\nvendor/\nout/**\n"
    folder = Path(__file__).parent / "_nothing_"
    assert gitignore_excludes(folder) == ()
    from gator_setup.core.project import _globs

    assert list(_globs(text)) == [
        "*.pyc",
        "*/*.pyc",
        "build",
        "docs/_build",
        "tmp",
        "*/tmp",
        "vendor",
        "*/vendor",
        "out",
    ]
