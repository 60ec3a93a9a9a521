"""Work a build hands to a thread of its own: what waits on the system (a stat per corpus file,
reading files for their checksums) runs there while the interpreter does the rest."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")


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
