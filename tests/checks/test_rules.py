"""Every finding code is a registered rule with an explanation; --only/--skip/ignore accept them all."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gator_setup.checks.registry import COMMAND_RULES, all_checks, all_rules, explanations
from gator_setup.cli.app import main
from gator_setup.core.doctor import select_checks, select_results
from gator_setup.errors import UnknownNameError
from gator_setup.findings import CheckResult, Finding, Severity
from gator_setup.report.model import Report

PACKAGE = Path(__file__).resolve().parents[2] / "gator_setup"


def codes() -> list[str]:
    return [r.code for r in all_rules(include_plugins=False)[0]]


def test_codes_are_unique_and_each_has_an_explanation() -> None:
    assert len(codes()) == len(set(codes()))
    explained = explanations()
    for code in codes():
        entry = explained.get(code)
        assert entry is not None, f"{code}: add it to knowledge/codes.toml"
        assert {k: bool(entry.get(k, "").strip()) for k in ("meaning", "why", "fix")} == {
            "meaning": True,
            "why": True,
            "fix": True,
        }, code
    assert set(explained) == set(codes()), "codes.toml explains codes nobody registered"


def test_every_code_in_the_source_is_registered() -> None:
    """A code written anywhere in the package (a check, what-if, check-pins) is a registered rule."""
    found: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        for m in re.finditer(r"[\"'](GTR\d{3})[\"']", path.read_text("utf-8")):
            found.setdefault(m.group(1), str(path.relative_to(PACKAGE)))
    assert found, "the scan of the source found no code at all"
    missing = {code: where for code, where in found.items() if code not in codes()}
    assert not missing, f"codes used but not registered: {missing}"


@pytest.mark.parametrize("code", ["GTR111", "GTR112", "GTR301", "GTR302", "GTR303", "GTR000"])
def test_command_codes_are_accepted_by_only_and_skip(code: str) -> None:
    classes = all_checks(include_plugins=False)[0]
    assert select_checks(classes, (code,), ()) == []  # no check class reports it in the doctor
    assert select_checks(classes, (), (code,)) == [c for c in classes if c.default_enabled]


def test_unknown_code_is_refused_with_close_matches() -> None:
    with pytest.raises(UnknownNameError, match="GTR11"):
        select_checks(all_checks(include_plugins=False)[0], ("GTR11",), ())


def _report() -> Report:
    def result(code: str, *found: str) -> CheckResult:
        return CheckResult(code, code, "x", [Finding(c, Severity.ERROR, c) for c in found])

    return Report(
        "doctor --what-if", [result("GTR100", "GTR100"), result("GTR111", "GTR111"), result("GTR112")]
    )


def test_select_results_applies_only_skip_and_ignore() -> None:
    assert [r.code for r in select_results(_report(), ("GTR111",), ()).results] == ["GTR111"]
    assert [r.code for r in select_results(_report(), (), ("GTR111",)).results] == ["GTR100", "GTR112"]
    ignored = select_results(_report(), (), (), ignored=("GTR111",))
    assert [len(r.findings) for r in ignored.results] == [1, 0, 0]
    with pytest.raises(UnknownNameError):
        select_results(_report(), ("GTR998",), ())


def test_checks_lists_every_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "--json"]) == 0
    listed = [row["code"] for row in json.loads(capsys.readouterr().out)["checks"]]
    assert listed == codes()
    assert {r.code for r in COMMAND_RULES} <= set(listed)


def test_explain_prints_meaning_why_and_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "gtr111"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("GTR111: Imports still resolve after the change\n")
    assert "gator doctor --what-if" in out
    for heading in ("What it means", "Why it matters", "How to fix it"):
        assert f"\n{heading}\n  " in out


def test_explain_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "GTR301", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reported_by"] == "gator check-pins" and data["fix"] == explanations()["GTR301"]["fix"]


def test_explain_unknown_code_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "GTR998"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and "GTR998" in out.err


def test_doctor_only_a_what_if_code_says_where_it_comes_from(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["doctor", "--only", "GTR111", "--json", "--project", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["checks"] == [] and data["notes"] == [
        "GTR111 is reported by `gator doctor --what-if`, not by this run."
    ]
