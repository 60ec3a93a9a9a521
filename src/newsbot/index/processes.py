"""Worker processes that take tasks in order, give the results back in order, and stop at once.

`multiprocessing.Pool` is not used here because it cannot be stopped midway safely: its feeding
thread writes a task bigger than a pipe's buffer in pieces, and `terminate` kills the reader
halfway, so the feeder, and the pool's shutdown with it, waits forever (seen with one Ctrl-C
during a build); and a worker the system kills leaves `imap` waiting forever too. Here every
worker has a pipe of its own whose far end dies with it, so a send or a receive fails instead.
"""

from __future__ import annotations

import itertools
import multiprocessing
import signal
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkContext, ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar, cast

from newsbot.errors import NewsbotError
from newsbot.index.background import Background

Context = ForkContext | ForkServerContext | SpawnContext
T = TypeVar("T")
R = TypeVar("R")


class WorkerDied(NewsbotError):
    """A worker process ended without giving its result back (killed, out of memory)."""


@dataclass(frozen=True)
class _Failed:
    """What a task raised in a worker, to be raised again in the parent."""

    error: BaseException


@contextmanager
def _starting() -> Iterator[None]:
    """Around starting processes: a Ctrl-C meanwhile must not reach them (a traceback each): it
    waits, and they ignore it (`_started`)."""
    blocked = threading.current_thread() is threading.main_thread()
    if blocked:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if blocked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _started() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (it stops us)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _serve(
    conn: Connection, setup: Callable[..., Any], args: tuple[Any, ...], work: Callable[[Any], Any]
) -> None:
    _started()
    setup(*args)
    while True:
        try:
            task = conn.recv()
        except EOFError:  # the parent is gone
            return
        if task is None:
            return
        try:
            result: Any = work(task)
        except BaseException as e:  # the parent raises it
            result = _Failed(e)
        try:
            conn.send(result)
        except Exception as e:  # say, an exception that cannot be pickled
            conn.send(_Failed(RuntimeError(f"{type(e).__name__}: {e}")))


def ordered_map(
    context: Context,
    processes: int,
    setup: Callable[..., Any],
    args: tuple[Any, ...],
    work: Callable[[T], R],
    tasks: Iterator[T],
) -> Generator[R, None, None]:
    """`work(task)` for each of `tasks` (drawn as the workers take them, so only a few are held at
    once), each worker having run `setup(*args)` first, in `processes` worker processes; the
    results in the order of the tasks. Closing the generator early stops the workers at once."""
    workers: list[BaseProcess] = []
    conns: list[Connection] = []
    with _starting():
        for _ in range(processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, setup, args, work), daemon=True)
            process.start()
            theirs.close()  # now only the worker holds that end: its death is seen here
            workers.append(process)
            conns.append(ours)
    feeder = _Feeder(conns, tasks)
    try:
        for n in itertools.count():
            if not feeder.wait_for(n):
                break
            result = _receive(conns[n % processes], workers[n % processes])
            yield result
        feeder.raise_error()
        for conn in conns:
            conn.send(None)
        for worker in workers:
            worker.join()
    finally:
        feeder.stopping.set()
        for worker in workers:
            if worker.is_alive():
                worker.kill()  # its pipe breaks: the feeder stops at once if it was writing to it
        feeder.join()
        for worker in workers:
            worker.join()
        for conn in conns:
            conn.close()


def _receive(conn: Connection, worker: BaseProcess) -> Any:
    try:
        result = conn.recv()
    except (EOFError, ConnectionError):
        worker.join(5)
        raise WorkerDied(
            f"A process of the build stopped unexpectedly (exit code {worker.exitcode}; -9 is often "
            "the system running out of memory); the index is unchanged."
        ) from None
    if isinstance(result, _Failed):
        raise result.error
    return result


class _Feeder:
    """A thread sending task n to worker n % workers, in order, as each worker takes them."""

    def __init__(self, conns: list[Connection], tasks: Iterator[Any]) -> None:
        self._conns, self._tasks = conns, tasks
        self._sent = 0
        self._done = False
        self._error: BaseException | None = None
        self.stopping = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="newsbot-analysis-feeder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for n, task in enumerate(self._tasks):
                if self.stopping.is_set():
                    return
                self._conns[n % len(self._conns)].send(task)
                with self._changed:
                    self._sent = n + 1
                    self._changed.notify_all()
        except BaseException as e:  # a broken pipe while stopping is expected; else raised later
            if not self.stopping.is_set():
                self._error = e
        finally:
            with self._changed:
                self._done = True
                self._changed.notify_all()

    def wait_for(self, n: int) -> bool:
        """True once task `n` was sent; False when there is none (all sent, or the feeding failed)."""
        with self._changed:
            while self._sent <= n and not self._done:
                self._changed.wait()
            return self._sent > n

    def raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def join(self) -> None:
        self._thread.join()


class Beside(Generic[T]):
    """`work()` running beside this process, started at once; `result()` waits for it. In a
    forked process where `start_context` forks (this process runs no other thread): that runs
    in parallel with this interpreter, where a thread takes turns with it (a scan's listing,
    26k stat calls, while the saved state is parsed here: 0.18 -> 0.15 s); else in a thread."""

    def __init__(self, work: Callable[[], T], name: str) -> None:
        self._thread: Background[T] | None = None
        context = start_context()
        self.forked = isinstance(context, ForkContext)  # (else this interpreter is shared with it)
        if not self.forked:
            self._thread = Background(work, name)
            return
        self._conn, theirs = context.Pipe(duplex=False)
        self._process = context.Process(target=_give, args=(theirs, work), name=name, daemon=True)
        with _starting():
            self._process.start()
        theirs.close()  # now only the process holds that end: its death is seen here

    def result(self) -> T:
        """Its outcome, or its error raised here."""
        if self._thread is not None:
            return self._thread.result()
        try:
            outcome = _receive(self._conn, self._process)
        finally:
            self._conn.close()
            self._process.join()
        return cast(T, outcome)


def _give(conn: Connection, work: Callable[[], Any]) -> None:
    _started()
    try:
        outcome: Any = work()
    except BaseException as e:  # the parent raises it
        outcome = _Failed(e)
    conn.send(outcome)


def start_context() -> Context:
    """fork when this process runs no other thread; otherwise a clean server process (a bot)."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")
