"""The spinner of slow steps: shown on a terminal's stderr, silent when piped."""

from __future__ import annotations

import io
import sys
import time

import pytest

from gator_setup.progress import activity


def test_activity_is_silent_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with activity("resolving"):
        pass
    assert capsys.readouterr().err == ""


def test_activity_shows_its_message_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.delenv("NO_COLOR", raising=False)
    with activity("resolving the declared requirements"):
        time.sleep(0.3)
    assert "resolving the declared requirements..." in screen.getvalue()
