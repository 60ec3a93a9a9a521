"""Feed rounds in a child process, for the long-running bot.

Parsing feeds, extracting article pages (trafilatura) and indexing what a round wrote
(`Engine.add`) are CPU work in Python: on the bot's own threads they hold the interpreter lock
and every question answered meanwhile waits its turn (the 300-feed benchmark, docs/performance.md,
saw /ask's p95 grow by two thirds). One long-lived child process at a lower CPU priority does that
work instead, keeping its fetcher (per-host spacing, robots.txt cache), feed store and engine
(stem caches, checked segments) warm between rounds; the bot only swaps to what the child
published (`Engine.refresh`).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from newsbot.elsewhere import NICENESS
from newsbot.errors import NewsbotError
from newsbot.feeds.fetch import Limits
from newsbot.feeds.poller import PollReport
from newsbot.settings import Settings

log = logging.getLogger(__name__)
_POLL = 0.5  # seconds between checks that the child is still alive while a round runs


@dataclass(frozen=True)
class RoundResult:
    """What one round in the child did: the polls' reports and whether a new version is out."""

    reports: list[PollReport]
    indexed: bool  # the written files went into a published version
    owed: bool  # files written but not yet indexed (the index was busy): the next round retries


class RoundsElsewhere:
    """Runs feed rounds one at a time in a child process, started on first use and stopped by
    `close` (at once: a round cut short is safe, the index's writer lock dies with its holder)."""

    def __init__(self, settings: Settings, limits: Limits) -> None:
        self.settings, self.limits = settings, limits
        self._child: BaseProcess | None = None
        self._conn: Connection | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._child.pid if self._child is not None and self._child.is_alive() else None

    async def round(self, now: datetime) -> RoundResult:
        """Poll what is due at `now` and index what that wrote, in the child; a child that died
        is replaced at the next round and this one says so."""
        return await asyncio.to_thread(self._round, now)

    def _round(self, now: datetime) -> RoundResult:
        if self._child is None or self._conn is None or not self._child.is_alive():
            self.close()
            context = multiprocessing.get_context("spawn")  # nothing of the bot's state
            self._conn, theirs = context.Pipe()
            self._child = context.Process(
                target=_serve, args=(self.settings, self.limits, theirs), name="newsbot-feeds", daemon=True
            )
            self._child.start()
            theirs.close()
        child, conn = self._child, self._conn
        try:
            conn.send(now)
            while not conn.poll(_POLL):
                if not child.is_alive():
                    raise EOFError
            kind, value = conn.recv()
        except (EOFError, OSError):
            self.close()
            raise NewsbotError(
                "The feed process stopped unexpectedly; the next round starts another."
            ) from None
        if kind == "error":
            raise NewsbotError(value)
        assert isinstance(value, RoundResult)
        return value

    def close(self) -> None:
        child, self._child = self._child, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if child is not None and child.is_alive():
            child.terminate()
            child.join(5)
            if child.is_alive():
                child.kill()
                child.join()


def _serve(settings: Settings, limits: Limits, conn: Connection) -> None:
    """The child: set up once, then one round per `now` received, until the pipe closes."""
    from newsbot.engine import Engine
    from newsbot.feeds.fetch import Fetcher
    from newsbot.feeds.ingest import Ingester
    from newsbot.feeds.store import open_feed_store
    from newsbot.feeds.worker import PollWorker
    from newsbot.logsetup import configure_logging

    configure_logging(settings.log_level)  # a spawned child starts without the bot's set-up
    os.nice(NICENESS)
    loop = asyncio.new_event_loop()
    try:
        fetcher = Fetcher(allow_private=settings.feeds_allow_private, limits=limits)
        loop.run_until_complete(fetcher.__aenter__())
        store = open_feed_store(settings)
        engine = Engine.open(settings, build_if_missing=False)
        # The worker logs each feed's result itself; its lines for a terminal only at debug level.
        worker = PollWorker(store, fetcher, Ingester(store, settings.corpus_dir), engine, log.debug)
    except Exception as exc:  # the answer to the first round, then the child ends
        if not isinstance(exc, NewsbotError):
            log.exception("The feed process could not start")
        conn.send(("error", f"The feed process could not start: {_reason(exc)}"))
        return
    while True:
        try:
            now = conn.recv()
        except EOFError:  # the bot closed its end
            return
        try:
            before = engine.version
            worker.clock = lambda: now  # noqa: B023 (used within this iteration only)
            reports = loop.run_until_complete(worker.round())
            answer: tuple[str, object] = (
                "done",
                RoundResult(reports, indexed=engine.version != before, owed=bool(worker.written)),
            )
        except Exception as exc:  # the bot hears why; anything unexpected is logged here in full
            if not isinstance(exc, NewsbotError):
                log.exception("A round of feed polling failed")
            answer = ("error", f"A round of feed polling failed: {_reason(exc)}")
        conn.send(answer)


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, NewsbotError) else f"{type(exc).__name__} (see the log)"
