"""What a build asks of the system: a thread of its own for work that waits on it (a stat per
corpus file) while the interpreter does the rest, and no huge pages for its arrays."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def spare_core() -> bool:
    """Whether a core is likely idle: the last minute's load average, this process included, is
    below the cores, or fewer tasks than cores can run right now, this one included (after a
    burst of work, such as a benchmark's earlier phases, the average lags a minute behind). Work
    moved beside the interpreter pays only then; on a busy machine it would only take turns with
    it (measured: an addition 20-40% slower at load 8-10)."""
    try:
        return os.getloadavg()[0] + 1 <= cores() or _runnable() < cores()
    except OSError:  # no load average here
        return False


def _runnable() -> int:
    """The tasks runnable now, machine-wide (`/proc/loadavg`'s fourth field: runnable/all)."""
    with open("/proc/loadavg") as fh:
        return int(fh.read().split()[3].split("/")[0])


_beside: list[threading.Thread] = []  # the threads `beside` started (the live ones, and the last)
_beside_lock = threading.Lock()


def beside(work: Callable[[], object], name: str) -> None:
    """Run `work` in a daemon thread started now, beside the caller's, for `settled` to wait for."""
    thread = threading.Thread(target=work, name=name, daemon=True)
    with _beside_lock:  # (started here: `settled` joins only started threads)
        _beside[:] = [t for t in _beside if t.is_alive()] + [thread]
        thread.start()


def settled() -> None:
    """Wait for the threads `beside` started (before forking worker processes, which is done
    only from a process running no other thread)."""
    with _beside_lock:
        threads = list(_beside)
    for thread in threads:
        thread.join()


class Background(Generic[T]):
    """`work()` running in a daemon thread, started at once; `result()` waits for it."""

    def __init__(self, work: Callable[[], T], name: str) -> None:
        self._done: Future[T] = Future()
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], T]) -> None:
        try:
            self._done.set_result(work())
        except BaseException as e:  # handed to whoever asks for the result
            self._done.set_exception(e)

    def result(self) -> T:
        """Its outcome (or its error, raised here), once the thread has ended: worker processes
        are forked only from a process that runs no other thread."""
        self._thread.join()
        return self._done.result()


@contextmanager
def small_pages() -> Iterator[None]:
    """Ask no huge pages for numpy's big arrays for a while: the arrays of a build are written once
    and read a few times in order, and where the kernel compacts memory to make huge pages on
    request (the common `defrag=madvise`), getting them costs more than they save (4x here)."""
    setter = getattr(getattr(np, "_core", None), "multiarray", None)
    setter = getattr(setter, "_set_madvise_hugepage", None)
    if setter is None:
        yield
        return
    before = setter(False)
    try:
        yield
    finally:
        setter(before)
