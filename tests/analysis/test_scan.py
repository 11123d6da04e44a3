"""scan_tree / scan_wheel against a small fake provider: verdicts, roles and bad input."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from gator_setup.analysis import Provider, Providers, file_role, import_time_modules, scan_tree, scan_wheel


def fake_hub(root: Path) -> Providers:
    pkg = root / "site" / "huggingface_hub"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "_SUBMOD_ATTRS = {'file_download': ['hf_hub_download']}\n"
        "__getattr__, __dir__ = _attach(__name__, submod_attrs=_SUBMOD_ATTRS)\n"
    )
    (pkg / "file_download.py").write_text("def hf_hub_download(): pass\n")
    return Providers([Provider("huggingface_hub", "huggingface_hub", "9.0.0", root / "site")])


SOURCE = "from huggingface_hub import hf_hub_download, cached_download\nimport huggingface_hub.commands\n"


def test_scan_tree_reports_missing_names_and_modules(tmp_path: Path) -> None:
    providers = fake_hub(tmp_path)
    proj = tmp_path / "proj"
    (proj / "pkg").mkdir(parents=True)
    (proj / "pkg" / "a.py").write_text(SOURCE)
    (proj / "pkg" / "plain.py").write_text("import os\n")
    (proj / ".venv" / "lib").mkdir(parents=True)
    (proj / ".venv" / "lib" / "x.py").write_text(SOURCE)  # environments are never scanned
    res = scan_tree(proj, providers)
    got = {(i.unresolved.kind, i.unresolved.missing, i.file.module) for i in res.issues}
    assert got == {
        ("missing-name", "cached_download", "pkg.a"),
        ("missing-module", "huggingface_hub.commands", "pkg.a"),
    }
    assert res.files_seen == 2 and [f.module for f in res.files] == ["pkg.a"]


def test_the_collector_is_paused_during_a_scan_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    import gator_setup.analysis.scan as scan_mod

    providers = fake_hub(tmp_path)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "a.py").write_text(SOURCE)
    seen: list[bool] = []
    judge = scan_mod._Analyzer.judge

    def spy(self, data, display, rel, triage):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        return judge(self, data, display, rel, triage)

    monkeypatch.setattr(scan_mod._Analyzer, "judge", spy)
    assert gc.isenabled()
    scan_tree(tmp_path / "proj", providers, cache_file=tmp_path / "cache.json")
    assert seen == [False] and gc.isenabled()
    gc.disable()  # a caller's own choice is left alone
    try:
        scan_tree(tmp_path / "proj", providers)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_scan_wheel_and_bad_files(tmp_path: Path) -> None:
    providers = fake_hub(tmp_path)
    whl = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("demo/__init__.py", SOURCE)
        zf.writestr("demo/broken.py", "from huggingface_hub import x\ndef (:\n")
    res = scan_wheel(whl, providers)
    assert {i.unresolved.missing for i in res.issues} == {"cached_download", "huggingface_hub.commands"}
    assert res.issues[0].file.path.startswith("demo-1.0-py3-none-any.whl!/demo/")
    assert [p.line for p in res.problems] == [2]

    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "bad.py").write_text("import huggingface_hub\nif (:\n")
    (proj / "latin.py").write_bytes(b"import huggingface_hub  # \xe9\xff\n")
    (proj / "dangling.py").symlink_to(proj / "nowhere.py")
    res = scan_tree(proj, providers)
    msgs = sorted(p.message for p in res.problems)
    assert len(msgs) == 3
    assert any("broken symbolic link" in m for m in msgs)
    assert any("syntax error" in m for m in msgs) and any("UTF-8" in m for m in msgs)


def test_file_roles() -> None:
    assert file_role("diffusers/utils/hub_utils.py") == "runtime"
    for aux in (
        "pkg/tests/test_a.py",
        "examples/x.py",
        "pkg/__main__.py",
        "scripts/convert.py",
        "conftest.py",
    ):
        assert file_role(aux) == "auxiliary", aux


def test_import_time_graph(tmp_path: Path) -> None:
    sources = {
        "pkg": (b"from . import utils\nfrom .lazy import nothing_at_import\n", True),
        "pkg.utils": (
            b"from .hub import x\ntry:\n    from .opt import y\nexcept ImportError:\n    pass\n",
            True,
        ),
        "pkg.utils.hub": (b"def f():\n    from pkg import late\n", False),
        "pkg.opt": (b"", False),
        "pkg.lazy": (b"", False),
        "pkg.cli": (b"", False),
    }
    seen = import_time_modules("pkg", lambda m: sources.get(m))
    assert seen == {"pkg", "pkg.utils", "pkg.utils.hub", "pkg.lazy"}


def test_tree_cache_skips_unchanged_files(tmp_path: Path) -> None:
    providers = fake_hub(tmp_path)
    proj = tmp_path / "proj"
    proj.mkdir()
    f = proj / "a.py"
    f.write_text(SOURCE)
    cache = tmp_path / "scan-cache.json"
    first = scan_tree(proj, providers, cache_file=cache)
    st = f.stat()
    # same size and mtime, different bytes: a cached run must not read the file again
    f.write_text(SOURCE.replace("cached_download", "hf_hub_downloa_"))
    import os

    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    second = scan_tree(proj, providers, cache_file=cache)
    assert {i.unresolved.missing for i in second.issues} == {i.unresolved.missing for i in first.issues}
    assert "cached_download" in {i.unresolved.missing for i in second.issues}
    f.write_text("import os\n")  # a real change is picked up
    assert scan_tree(proj, providers, cache_file=cache).issues == []


def test_deep_needles_apply_only_where_their_module_can_be_referred_to(tmp_path: Path) -> None:
    providers = fake_hub(tmp_path)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "a.py").write_text("from huggingface_hub import hf_hub_download as d\nd(use_auth_token=1)\n")
    (proj / "cli.py").write_text("import subprocess\nsubprocess.run(['huggingface-cli'])  # huggingface_hub")

    def deep(gate: str) -> list[str]:
        needles = [(b"use_auth_token", gate), (b"huggingface-cli", None)]
        res = scan_tree(proj, providers, deep_needles=needles)
        return sorted(f"{f.module}:{c.target}" for f in res.files for c in f.calls)

    # gated on a module a.py never names: a.py takes the candidate pass (all resolve, not parsed)
    assert deep("torch") == ["cli:huggingface-cli"]
    assert deep("huggingface_hub") == ["a:huggingface_hub.hf_hub_download", "cli:huggingface-cli"]


def _single_threaded() -> None:
    """The scan forks its children only from a single-threaded process: a thread left alive by
    an earlier test (a server's request thread, an executor's) would make these tests serial."""
    import threading

    assert threading.active_count() == 1, f"live threads stop the fork: {threading.enumerate()}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")
@pytest.mark.parametrize("deep", [False, True])
def test_worker_processes_give_the_serial_result(tmp_path: Path, monkeypatch, deep: bool) -> None:  # type: ignore[no-untyped-def]
    """A forked child and the parent triage the files; the parent judges the candidates'
    verdicts; the result is the serial one.

    Without deep needles every file naming the hub gets the full analysis (parsed by the process
    that triages it, its imports resolved in the parent); with them, files go through the
    candidate pass, and the few files whose candidates fail are parsed afterwards.
    """
    import os

    from gator_setup.analysis import scan as scan_mod

    providers = fake_hub(tmp_path)
    proj = tmp_path / "proj"
    proj.mkdir()
    for i in range(40):
        (proj / f"m{i:02}.py").write_text(SOURCE if i % 3 else "import huggingface_hub\nx = 1\n")
    (proj / "bad.py").write_text("import huggingface_hub\nif (:\n")
    (proj / "dangling.py").symlink_to(proj / "nowhere.py")
    (proj / "old.py").write_text(
        "from huggingface_hub import hf_hub_download\nhf_hub_download(use_auth_token=1)\n"
    )
    monkeypatch.setattr(scan_mod, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(scan_mod, "_CHUNK", 3)
    monkeypatch.setattr(scan_mod, "_OWN_CHUNK", 1)
    monkeypatch.setattr(scan_mod, "_CHUNK_MIN", 2)
    needles = [(b"use_auth_token", "huggingface_hub")] if deep else None

    def run(workers: int) -> tuple[list[object], list[object], list[object], int]:
        cache = tmp_path / f"cache-{workers}.json"
        res = scan_tree(proj, providers, cache_file=cache, workers=workers, deep_needles=needles)
        assert cache.is_file()
        return res.files, res.issues, res.problems, res.files_seen

    serial = run(1)
    _single_threaded()
    parent = os.getpid()
    log = tmp_path / "calls.log"

    def spy(owner: object, name: str) -> None:
        real = getattr(owner, name)

        def call(*args):  # type: ignore[no-untyped-def]
            # one line per call, from whichever process makes it (the children are forks)
            with log.open("a") as fh:
                fh.write(f"{name} {'parent' if os.getpid() == parent else 'child'}\n")
            return real(*args)

        monkeypatch.setattr(owner, name, call)

    spy(scan_mod, "_triage_one")
    spy(scan_mod, "_parse_one")
    spy(Providers, "_memo_verdict")
    assert run(3) == serial
    where: dict[str, set[str]] = {}
    for line in log.read_text().splitlines():
        name, who = line.split()
        where.setdefault(name, set()).add(who)
    assert where["_triage_one"] == {"parent", "child"}  # the children and the parent triage
    assert where["_memo_verdict"] == {"parent"}  # verdicts judged here, once per (module, name)
    if deep:
        assert "_parse_one" in where  # the failed candidates' files, parsed after their triage
    else:
        assert "_parse_one" not in where  # parsed by whoever triaged them
    # (with the candidate pass, bad.py resolves and is not parsed: its syntax error does not show)
    assert len(serial[1]) == 2 * 26 and len(serial[2]) == (1 if deep else 2) and serial[3] == 43


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")
def test_a_child_that_dies_mid_scan_leaves_its_files_to_the_others(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A child killed while triaging (the OOM killer, say) costs nothing but time: the parent
    takes its outstanding tasks back and the result is the serial one."""
    import os

    from gator_setup.analysis import scan as scan_mod

    providers = fake_hub(tmp_path)
    proj = tmp_path / "proj"
    proj.mkdir()
    for i in range(30):
        (proj / f"m{i:02}.py").write_text(SOURCE if i % 2 else "import os\n")
    monkeypatch.setattr(scan_mod, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(scan_mod, "_CHUNK", 4)
    monkeypatch.setattr(scan_mod, "_OWN_CHUNK", 1)
    serial = scan_tree(proj, providers, cache_file=tmp_path / "serial.json", workers=1)
    parent = os.getpid()
    real = scan_mod._triage_one

    def fatal(analyze, path, rel, sig):  # type: ignore[no-untyped-def]
        if rel == "m05.py" and os.getpid() != parent:
            os._exit(9)
        return real(analyze, path, rel, sig)

    monkeypatch.setattr(scan_mod, "_triage_one", fatal)
    _single_threaded()
    got = scan_tree(proj, providers, cache_file=tmp_path / "parallel.json", workers=3)
    assert (got.files, got.issues, got.problems, got.files_seen) == (
        serial.files,
        serial.issues,
        serial.problems,
        serial.files_seen,
    )
    assert len(got.issues) == 2 * 15
    assert (tmp_path / "parallel.json").read_bytes() == (tmp_path / "serial.json").read_bytes()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")
def test_small_pipes_and_long_paths_do_not_deadlock(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With pipes of one page and tasks of long paths, the parent still never blocks sending a
    task while its child blocks sending a reply the parent is not reading (tasks are cut to fit
    half a pipe); the result is the serial one."""
    import signal

    from gator_setup.analysis import fanout
    from gator_setup.analysis import scan as scan_mod

    providers = fake_hub(tmp_path)
    deep = tmp_path / "proj" / ("d" * 120) / ("e" * 120)
    deep.mkdir(parents=True)
    for i in range(60):
        (deep / f"{'m' * 60}{i:02}.py").write_text(SOURCE)
    proj = tmp_path / "proj"
    monkeypatch.setattr(fanout, "PIPE_BYTES", 4096)
    monkeypatch.setattr(scan_mod, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(scan_mod, "_CHUNK", 50)
    monkeypatch.setattr(scan_mod, "_OWN_CHUNK", 1)
    serial = scan_tree(proj, providers, workers=1, cache_file=tmp_path / "serial.json")
    _single_threaded()

    def stuck(*_args: object) -> None:
        raise TimeoutError("the scan is stuck")

    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(30)
    try:
        got = scan_tree(proj, providers, workers=2, cache_file=tmp_path / "parallel.json")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert (got.files, got.issues, got.files_seen) == (serial.files, serial.issues, serial.files_seen)
    assert len(got.issues) == 2 * 60


def test_exempt_packages_skip_the_deep_parse(tmp_path: Path) -> None:
    providers = fake_hub(tmp_path)
    tree = tmp_path / "tree"
    (tree / "huggingface_hub").mkdir(parents=True)
    (tree / "huggingface_hub" / "api.py").write_text(
        "from .file_download import hf_hub_download  # huggingface_hub's own use of its API\n"
        "hf_hub_download(use_auth_token=1)\n"
    )
    (tree / "user.py").write_text("from huggingface_hub import hf_hub_download as d\nd(use_auth_token=1)\n")
    needles = [(b"use_auth_token", "huggingface_hub")]

    def deep(exempt: tuple[str, ...]) -> list[str]:
        res = scan_tree(tree, providers, deep_needles=needles, deep_exempt=exempt)
        return sorted(f"{f.module}:{c.target}" for f in res.files for c in f.calls)

    both = [
        "huggingface_hub.api:huggingface_hub.file_download.hf_hub_download",
        "user:huggingface_hub.hf_hub_download",
    ]
    assert deep(()) == both
    assert deep(("huggingface_hub",)) == both[1:]


def test_walk_order_and_skipped_folders(tmp_path: Path) -> None:
    from gator_setup.analysis.scan import iter_tree

    for rel in (
        "b.py", "a.py", "z/x.py", "pkg/m.py", "pkg/sub/n.py", "dir.py/inner.py", "notes.txt",
        "myenv/pyvenv.cfg", "myenv/lib/v.py", "build/b.py", ".hidden/h.py", "x.egg-info/e.py",
        "y-1.0.dist-info/licenses/l.py", "__pycache__/c.py", "pkg/skipme/s.py",
    ):  # fmt: skip
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("")
    got = [rel for _, rel in iter_tree(tmp_path, exclude=["pkg/skipme"])]
    # a folder's files (sorted) before its subfolders (sorted, depth first); venvs, caches,
    # build output, package metadata, hidden and excluded folders are not entered; a folder
    # named x.py is a folder
    assert got == ["a.py", "b.py", "dir.py/inner.py", "pkg/m.py", "pkg/sub/n.py", "z/x.py"]
    (tmp_path / "pyvenv.cfg").write_text("")  # the root itself is scanned as asked, even a venv
    assert [rel for _, rel in iter_tree(tmp_path)][:2] == ["a.py", "b.py"]


def test_cache_entries_follow_file_changes_and_provider_versions(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json
    import os

    from gator_setup.probes.imports import tree_cache_file

    monkeypatch.setenv("GATOR_CACHE_DIR", str(tmp_path / "cache"))
    providers = fake_hub(tmp_path)
    proj = tmp_path / "proj"
    proj.mkdir()
    f = proj / "a.py"
    f.write_text("import os\n")
    cache = tree_cache_file(proj, providers, (), purpose="scan")
    assert cache is not None
    assert scan_tree(proj, providers, cache_file=cache).issues == []
    entry = json.loads(cache.read_text())["files"]["a.py"]
    assert entry == [f.stat().st_size, f.stat().st_mtime_ns]  # irrelevant file: a short entry
    f.write_text(SOURCE)  # now relevant: re-read although the cache said irrelevant
    os.utime(f, ns=(1, 2_000_000_000))
    assert {i.unresolved.missing for i in scan_tree(proj, providers, cache_file=cache).issues} == {
        "cached_download",
        "huggingface_hub.commands",
    }
    assert len(json.loads(cache.read_text())["files"]["a.py"]) == 4
    # another provider version: another cache file, so nothing judged against 9.0.0 is reused
    other = Providers([Provider("huggingface_hub", "huggingface_hub", "9.0.1", tmp_path / "site")])
    assert tree_cache_file(proj, other, (), purpose="scan") != cache


def test_which_files_are_looked_at(tmp_path: Path) -> None:
    providers = fake_hub(tmp_path)
    tree = tmp_path / "tree"
    (tree / "huggingface_hub").mkdir(parents=True)
    # names only its own package, undecodable: still reported (the name makes it a file to judge)
    (tree / "huggingface_hub" / "own.py").write_bytes(b"import huggingface_hub  # \xff\n")
    (tree / "plain.py").write_bytes(b"import os  # \xff\n")  # names no watched module: not looked at
    (tree / "comment.py").write_text("# huggingface_hub is mentioned, nothing imported\nimport os\n")
    (tree / "uses.py").write_text(SOURCE)
    needles = [(b"use_auth_token", "huggingface_hub"), (b"huggingface-cli", None)]
    res = scan_tree(tree, providers, deep_needles=needles)
    assert [p.path.rsplit("/", 1)[-1] for p in res.problems] == ["own.py"]
    assert {i.unresolved.missing for i in res.issues} == {"cached_download", "huggingface_hub.commands"}
    assert [f.module for f in res.files] == ["uses"]


@pytest.mark.parametrize(
    "rel",
    [
        "pkg/sub/mod.py",
        "pkg/sub/__init__.py",
        "pkg/sub/mod.pyi",
        "mod.py",
        "__init__.py",
        "a-b.py",
        "pkg-x/mod.py",
        "pkg/sub-x/mod.py",
        "pkg/1mod.py",
        "pkg/__init__.py",
        "pkg\\win.py",
        "pkg/notes.txt",
        "pkg/.py",
        "noext",
    ],
)
def test_own_top_package_is_the_module_names_first_part(rel: str) -> None:
    from gator_setup.analysis.extract import module_name
    from gator_setup.analysis.scan import _Analyzer

    analyzer = _Analyzer(Providers([]), ["torch"], None)
    mod = module_name(rel)
    for _ in range(2):  # asked twice (the analyzer keeps state between files): the same answer
        assert analyzer._own_top(rel) == (mod[0].split(".", 1)[0] if mod else None)
