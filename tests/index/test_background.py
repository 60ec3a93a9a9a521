"""A spare core (index/background.py): decided from the load average, and from the tasks
runnable now when the average still counts a burst that has ended."""

from __future__ import annotations

import os

import pytest

from newsbot.index import background


@pytest.mark.parametrize(
    ("average", "runnable", "spare"),
    [
        (0.2, 5, True),  # a quiet minute: whatever runs this instant
        (1.6, 1, True),  # a burst just ended: only this process runs now
        (1.6, 2, False),  # another task runs now too: both cores are taken
        (3.0, 9, False),
    ],
)
def test_a_spare_core_on_two(
    monkeypatch: pytest.MonkeyPatch, average: float, runnable: int, spare: bool
) -> None:
    monkeypatch.setattr(background, "cores", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (average, average, average))
    monkeypatch.setattr(background, "_runnable", lambda: runnable)
    assert background.spare_core() is spare


def test_the_runnable_tasks_include_this_one() -> None:
    if not os.path.exists("/proc/loadavg"):
        pytest.skip("no /proc/loadavg here")
    assert background._runnable() >= 1
