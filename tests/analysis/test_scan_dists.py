"""scan_tree of a site-packages: an unchanged installed distribution's cached results are reused
without walking or stat'ing its files; a reinstall, other files and other providers are not."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gator_setup.analysis import Provider, Providers, scan_tree
from gator_setup.analysis.distlayout import owners, record_tops
from gator_setup.analysis.scan import DistTop, walk_stats

BAD = "from huggingface_hub import cached_download\n"
GOOD = "import os\n"


def hub(root: Path, version: str, *, with_cached_download: bool) -> Providers:
    pkg = root / f"hub-{version}" / "huggingface_hub"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "def hf_hub_download(): pass\n" + ("def cached_download(): pass\n" if with_cached_download else "")
    )
    return Providers([Provider("huggingface_hub", "huggingface_hub", version, root / f"hub-{version}")])


def install(site: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """Write files and a dist-info whose RECORD lists them (as an installer would)."""
    for rel, text in files.items():
        p = site / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Name: {name}\nVersion: {version}\n")
    rows = [*files, f"{info.name}/METADATA", f"{info.name}/RECORD"]
    (info / "RECORD").write_text("".join(f"{r},,\n" for r in rows))
    return info


def make_site(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    install(site, "demo", "1.0", {"demo/__init__.py": GOOD, "demo/sub/bad.py": BAD, "demo/sub/ok.py": GOOD})
    install(site, "ns_a", "1.0", {"ns/a.py": GOOD})  # `ns/` is shared: owned by no one
    install(site, "ns_b", "1.0", {"ns/b.py": BAD})
    (site / "loose.py").write_text(GOOD)  # in no RECORD
    return site


class Touches:
    """Records the paths the scan lists, stats and opens."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        for name in ("scandir", "stat", "open"):
            real = getattr(os, name)

            def spy(path, *args, _real=real, **kwargs):  # type: ignore[no-untyped-def]
                self.paths.append(os.fspath(path))
                return _real(path, *args, **kwargs)

            monkeypatch.setattr(os, name, spy)

    def under(self, folder: Path) -> list[str]:
        return [p for p in self.paths if p == str(folder) or p.startswith(str(folder) + os.sep)]


def scan(site: Path, providers: Providers, cache: Path, layout: Path) -> tuple[set[str], int]:
    res = scan_tree(site, providers, cache_file=cache, layout_dir=layout)
    return {os.path.relpath(i.file.path, site) for i in res.issues}, res.files_seen


def test_unchanged_distribution_is_reused_without_touching_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path)
    providers = hub(tmp_path, "1.0.0", with_cached_download=False)
    cache, layout = tmp_path / "c" / "index.json", tmp_path / "c" / "layout"
    cold = scan(site, providers, cache, layout)
    assert cold == ({"demo/sub/bad.py", "ns/b.py"}, 6)
    touches = Touches(monkeypatch)
    assert scan(site, providers, cache, layout) == cold
    assert touches.under(site / "demo") == []  # neither walked, stat'ed nor read
    assert str(site / "demo-1.0.dist-info" / "RECORD") in touches.paths  # its identity was checked
    assert touches.under(site / "ns")  # a shared namespace folder is walked file by file


def test_edits_show_after_a_reinstall_and_outside_distributions_at_once(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    providers = hub(tmp_path, "1.0.0", with_cached_download=False)
    cache, layout = tmp_path / "c" / "index.json", tmp_path / "c" / "layout"
    scan(site, providers, cache, layout)
    # a file outside any distribution keeps the per-file (size, mtime) check
    (site / "loose.py").write_text(BAD)
    os.utime(site / "loose.py", ns=(1, 3_000_000_000))
    assert scan(site, providers, cache, layout)[0] == {"demo/sub/bad.py", "ns/b.py", "loose.py"}
    # an in-place edit inside an unchanged distribution is the documented trade-off: not re-read
    (site / "demo" / "sub" / "ok.py").write_text(BAD)
    assert "demo/sub/ok.py" not in scan(site, providers, cache, layout)[0]
    # a reinstall writes a new RECORD (another inode, mtime or size): the distribution is re-read
    info = site / "demo-1.0.dist-info"
    text = (info / "RECORD").read_text()
    (info / "RECORD").unlink()
    (info / "RECORD").write_text(text + "demo/extra.py,,\n")
    (site / "demo" / "extra.py").write_text(BAD)
    issues, seen = scan(site, providers, cache, layout)
    assert {"demo/sub/ok.py", "demo/extra.py"} <= issues and seen == 7
    # an upgrade: another dist-info name (version), the same goes
    os.rename(info, site / "demo-2.0.dist-info")
    (site / "demo" / "extra.py").write_text(GOOD)
    assert "demo/extra.py" not in scan(site, providers, cache, layout)[0]


def test_damaged_cache_files_are_ignored(tmp_path: Path) -> None:
    import json

    site = make_site(tmp_path)
    providers = hub(tmp_path, "1.0.0", with_cached_download=False)
    cache, layout = tmp_path / "c" / "index.json", tmp_path / "c" / "layout"
    cold = scan(site, providers, cache, layout)
    (layout_file,) = layout.iterdir()
    data = json.loads(layout_file.read_text())
    data["demo-1.0.dist-info"][3] = [["not", "a", "name"]]
    layout_file.write_text(json.dumps(data))
    index = json.loads(cache.read_text())
    index["tops"]["demo"][3] = [["demo/sub/bad.py", 7], "junk"]
    cache.write_text(json.dumps(index))
    assert scan(site, providers, cache, layout) == cold
    cache.write_text("{not json")
    layout_file.write_text("[]")
    assert scan(site, providers, cache, layout) == cold


def test_other_provider_versions_get_their_own_verdicts(tmp_path: Path) -> None:
    from gator_setup.probes.imports import scan_layout_dir, tree_cache_file

    site = make_site(tmp_path)
    old = hub(tmp_path, "0.9.0", with_cached_download=True)
    new = hub(tmp_path, "1.0.0", with_cached_download=False)
    old_file = tree_cache_file(site, old, (), purpose="scan")
    new_file = tree_cache_file(site, new, (), purpose="scan")
    assert old_file is not None and new_file is not None and old_file != new_file
    for _ in range(2):  # cold, then warm, alternating: no verdict leaks from one provider set to the other
        assert scan(site, new, new_file, scan_layout_dir())[0] == {"demo/sub/bad.py", "ns/b.py"}
        assert scan(site, old, old_file, scan_layout_dir())[0] == set()


def test_walk_order_and_counts_match_the_plain_walk(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / "zz.py").write_text(GOOD)
    plain, _ = walk_stats(site)
    tops, _ = walk_stats(site, dist_tops=True)
    assert [t.rel for t in tops if isinstance(t, DistTop)] == ["demo"]
    expanded = []
    for t in tops:
        if isinstance(t, DistTop):
            expanded += [rel for _p, rel, _s in walk_stats(Path(t.path))[0]]  # type: ignore[misc]
        else:
            expanded.append(t[1])
    assert expanded == ["loose.py", "zz.py", "__init__.py", "sub/bad.py", "sub/ok.py", "ns/a.py", "ns/b.py"]
    assert [rel for _p, rel, _s in plain] == [  # type: ignore[misc]
        "loose.py", "zz.py", "demo/__init__.py", "demo/sub/bad.py", "demo/sub/ok.py", "ns/a.py", "ns/b.py",
    ]  # fmt: skip


def test_owners_from_record_files(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    info = site / "odd-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(
        '"odd, pkg/__init__.py",sha256=x,1\nodd_mod.py,,\n../../../bin/odd,,\nodd-1.0.dist-info/RECORD,,\n'
    )
    assert record_tops(str(info)) == ["odd, pkg", "odd_mod.py"]
    other = site / "mixed-1.0.dist-info"
    other.mkdir()
    # interleaved tops, a prefix of another name, CRLF, and no newline at the end
    (other / "RECORD").write_bytes(b"a/x.py,,\r\nab.py,,\r\na/y.py,,\r\nb/z.py,,\r\na/w.py,,\r\nc/q.py,,")
    assert record_tops(str(other)) == ["a", "ab.py", "b", "c"]
    other.joinpath("RECORD").unlink()
    other.rmdir()
    names = sorted(os.listdir(site))
    got = owners(str(site), names, None)
    assert {top: owner[0] for top, owner in got.items()} == {
        "demo": "demo-1.0.dist-info",
        "odd, pkg": "odd-1.0.dist-info",
        "odd_mod.py": "odd-1.0.dist-info",
    }
    (site / "legacy-1.0.egg-info").mkdir()  # files of an egg-info install are in no RECORD
    assert owners(str(site), sorted(os.listdir(site)), None) == {}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")
def test_new_distributions_walked_while_workers_analyse_give_the_serial_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold scan walks new distributions while worker processes already analyse what was
    found; files, issues, counts, order and the cache (a warm scan's answer) match the serial run."""
    from gator_setup.analysis import scan as scan_mod

    site = make_site(tmp_path)
    install(site, "big", "2.0", {f"big/m{i:02}.py": BAD if i % 4 == 0 else GOOD for i in range(20)})
    providers = hub(tmp_path, "1.0", with_cached_download=False)
    monkeypatch.setattr(scan_mod, "PARALLEL_MIN_FILES", 3)
    monkeypatch.setattr(scan_mod, "_CHUNK", 4)
    deep = [(b"use_auth_token", "huggingface_hub")]  # so that files take the candidate pass

    def run(workers: int, cache: Path) -> tuple[list[str], list[str], int]:
        res = scan_tree(site, providers, cache_file=cache, layout_dir=tmp_path / "layout",
                        deep_needles=deep, workers=workers)  # fmt: skip
        return [f.path for f in res.files], [i.file.path for i in res.issues], res.files_seen

    serial = run(1, tmp_path / "serial.json")
    import threading

    assert threading.active_count() == 1, f"live threads stop the fork: {threading.enumerate()}"
    assert serial == run(2, tmp_path / "parallel.json")
    assert len(serial[1]) == 7 and serial[2] == 26  # bad: demo/sub/bad, ns/b, big/m00..m16 step 4
    # the parallel run's cache serves a warm scan with the same answer
    assert run(1, tmp_path / "parallel.json") == serial
