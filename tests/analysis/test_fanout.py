"""Fanout: forked children answering tasks over pipes; a lost or failing child is reported."""

from __future__ import annotations

import os
import sys
import time

import pytest

from gator_setup.analysis.fanout import Child, ChildLost, Fanout

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork-based, Linux-only")


def _double(task: object) -> object:
    assert isinstance(task, int)
    if task == 13:
        raise ValueError("unlucky")
    if task == 99:
        os._exit(3)  # a child that dies mid-task (as one killed by the OOM killer would)
    return task * 2, os.getpid()


def _wait_until_ready(fan: Fanout, child: Child, seconds: float = 30.0) -> None:
    """Wait for this child's reply: `ready` returns as soon as any child has one, and on a
    loaded machine the other child may well answer first."""
    deadline = time.monotonic() + seconds
    while child not in fan.ready(max(0.0, deadline - time.monotonic())):
        assert time.monotonic() < deadline, "no reply within the time allowed"


def test_children_answer_tasks_in_order_from_other_processes() -> None:
    fan = Fanout(2, _double)
    try:
        assert len(fan.children) == 2
        replies = []
        for child in fan.children:
            for n in (1, 2, 3):
                fan.send(child, n)
        for child in fan.children:
            for _ in range(3):
                _wait_until_ready(fan, child)
                replies.append(fan.receive(child))
        assert [r[0] for r in replies] == [2, 4, 6, 2, 4, 6]
        pids = {r[1] for r in replies}
        assert len(pids) == 2 and os.getpid() not in pids
        assert fan.ready(0) == []  # nothing more waiting
    finally:
        fan.close()
    assert fan.children == []


@pytest.mark.parametrize("task", [13, 99], ids=["task-raises", "child-dies"])
def test_a_failing_or_dead_child_is_dropped_with_child_lost(task: int) -> None:
    fan = Fanout(1, _double)
    try:
        child = fan.children[0]
        fan.send(child, task)
        assert fan.ready(30.0) == [child]
        with pytest.raises(ChildLost):
            fan.receive(child)
        assert fan.children == []
        assert fan.ready(0) == []
    finally:
        fan.close()


def test_sending_to_a_dead_child_is_child_lost() -> None:
    fan = Fanout(1, _double)
    try:
        child = fan.children[0]
        fan.send(child, 99)  # it dies on this one
        assert fan.ready(30.0) == [child]
        os.waitpid(child.pid, 0)  # gone for sure: its end of the task pipe is closed
        with pytest.raises(ChildLost):
            fan.send(child, 1)
        assert fan.children == []
    finally:
        fan.close()
