"""A reindex in a child process, for the long-running bot.

A full build takes hundreds of megabytes that a Python process never hands back to the system
once freed; in a child process they go when it ends, so the bot returns to its resting size. The
child also runs at a lower CPU priority, so questions keep their speed during a build. It takes
the data folder's writer lock itself; the parent swaps to what it published (`Engine.refresh`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
from collections.abc import Callable
from typing import Any

from newsbot import errors
from newsbot.errors import NewsbotError
from newsbot.records import BuildReport
from newsbot.settings import Settings

log = logging.getLogger(__name__)
NICENESS = 10  # how much lower the build's CPU priority is than the bot's
_POLL = 0.5  # seconds between checks that the child is still alive


def reindex_in_child(
    settings: Settings, *, full: bool, replace: bool, progress: Callable[[str, int, int], None] | None
) -> BuildReport:
    """Run `Engine.reindex` in a fresh process and return its report; its domain errors are
    raised here with their message, and a child that dies says so."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of the bot's
    messages: Any = context.Queue()
    child = context.Process(target=_child, args=(settings, full, replace, messages), name="newsbot-reindex")
    child.start()
    try:
        while True:
            try:
                kind, *rest = messages.get(timeout=_POLL)
            except queue.Empty:
                if not child.is_alive():
                    raise NewsbotError(
                        f"The reindex process stopped unexpectedly (exit code {child.exitcode}); "
                        "the index is unchanged."
                    ) from None
                continue
            if kind == "progress":
                if progress:
                    progress(*rest)
            elif kind == "done":
                report: BuildReport = rest[0]
                return report
            else:
                raise _error(*rest)
    finally:
        child.join(timeout=30)
        if child.is_alive():  # it sent its answer; it only has to exit
            child.kill()
            child.join()


def _child(settings: Settings, full: bool, replace: bool, messages: Any) -> None:
    from newsbot.engine import Engine

    os.nice(NICENESS)
    try:
        engine = Engine.open(settings, build_if_missing=False)
        report = engine.reindex(
            full=full, replace=replace, here=True, progress=lambda *step: messages.put(("progress", *step))
        )
        messages.put(("done", report))
    except NewsbotError as e:
        messages.put(("error", type(e).__name__, e.message))
    except BaseException as e:  # logged here, with its traceback; the parent says it failed
        log.exception("The reindex process failed")
        messages.put(("error", "", f"The reindex failed ({type(e).__name__}); the index is unchanged."))
    finally:
        messages.close()
        messages.join_thread()


def _error(name: str, message: str) -> NewsbotError:
    """The child's domain error as its own type where that type takes just a message."""
    kind = getattr(errors, name, None)
    if isinstance(kind, type) and issubclass(kind, NewsbotError):
        try:
            return kind(message)
        except TypeError:  # a type built from more than a message (IndexCorrupt)
            pass
    return NewsbotError(message)
