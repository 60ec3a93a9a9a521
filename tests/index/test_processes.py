"""The analysis's worker processes: results in order, tasks drawn as needed, and a stop that
never hangs (big tasks in flight, a worker killed, a task that fails)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator

import pytest

from newsbot.index import processes
from newsbot.index.processes import Beside, WorkerDied, ordered_map

FORK = multiprocessing.get_context("fork")
_offset = 0


def _setup(offset: int) -> None:
    global _offset
    _offset = offset


def _work(task: tuple[int, bytes]) -> tuple[int, int, int]:
    n, payload = task
    time.sleep(0.01 * (n % 3))  # uneven: later tasks may finish first
    return n + _offset, len(payload), os.getpid()


def _fail_on_three(task: tuple[int, bytes]) -> int:
    if task[0] == 3:
        raise ValueError("task three is bad")
    return task[0]


def _die_on_two(task: tuple[int, bytes]) -> int:
    if task[0] == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return task[0]


def _slow(task: tuple[int, bytes]) -> int:
    time.sleep(30)
    return task[0]


def _steady(task: tuple[int, bytes]) -> bytes:
    time.sleep(0.05)
    return task[1]  # as big as the task: a worker waits for its result to be taken


class Alarm(Exception):
    pass


def tasks(count: int, size: int = 10, drawn: list[int] | None = None) -> Iterator[tuple[int, bytes]]:
    for n in range(count):
        if drawn is not None:
            drawn.append(n)
        yield n, b"x" * size


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_results_come_back_in_the_order_of_the_tasks(method: str) -> None:
    context = multiprocessing.get_context(method)
    results = list(ordered_map(context, 3, _setup, (1000,), _work, tasks(20)))  # type: ignore[arg-type]
    assert [r[0] for r in results] == [1000 + n for n in range(20)]
    assert len({r[2] for r in results}) == 3  # every worker had its share
    assert multiprocessing.active_children() == []


def test_tasks_are_drawn_as_the_workers_take_them() -> None:
    drawn: list[int] = []
    results = ordered_map(FORK, 2, _setup, (0,), _steady, tasks(50, size=1 << 20, drawn=drawn))
    next(results)
    time.sleep(0.5)  # the workers have done all they can until more results are taken
    assert len(drawn) <= 6  # not all 50 MB at once: one result taken, about two per worker
    results.close()


def test_stopping_with_big_tasks_in_flight_is_quick_and_leaves_no_process() -> None:
    """Tasks bigger than a pipe's buffer, workers busy: closing early must not wait for them."""
    results = ordered_map(FORK, 2, _setup, (0,), _slow, tasks(10, size=4 << 20))
    began = time.monotonic()
    with pytest.raises(Alarm):
        _first_within(results, 0.5)
    results.close()
    assert time.monotonic() - began < 10  # the tasks take 30 s each: they were not waited for
    assert multiprocessing.active_children() == []


def test_a_failing_task_raises_its_error_here() -> None:
    with pytest.raises(ValueError, match="task three is bad"):
        list(ordered_map(FORK, 2, _setup, (0,), _fail_on_three, tasks(8)))
    assert multiprocessing.active_children() == []


def test_a_worker_that_dies_is_reported_not_waited_for() -> None:
    with pytest.raises(WorkerDied, match="exit code -9"):
        list(ordered_map(FORK, 2, _setup, (0,), _die_on_two, tasks(8, size=1 << 20)))
    assert multiprocessing.active_children() == []


def _first_within(results: Iterator[int], seconds: float) -> int:
    """The first result, or Alarm (SIGALRM interrupts the wait, as Ctrl-C would)."""

    def alarm(_signum: int, _frame: object) -> None:
        raise Alarm

    before = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return next(results)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)


def _where() -> tuple[int, list[str]]:
    return os.getpid(), ["a listing", "of sorts"]


def _refuse() -> None:
    raise PermissionError("no way in")


def test_work_beside_runs_in_a_forked_process_or_else_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "start_context", lambda: FORK)  # as in a process of one thread
    pid, listed = Beside(_where, "test-beside").result()
    assert pid != os.getpid() and listed == ["a listing", "of sorts"]
    with pytest.raises(PermissionError, match="no way in"):
        Beside(_refuse, "test-beside").result()
    with pytest.raises(WorkerDied, match="exit code -9"):
        Beside(lambda: os.kill(os.getpid(), signal.SIGKILL), "test-beside").result()
    assert multiprocessing.active_children() == []
    monkeypatch.setattr(processes, "start_context", lambda: multiprocessing.get_context("forkserver"))
    assert Beside(_where, "test-beside").result()[0] == os.getpid()  # other threads run: one more
