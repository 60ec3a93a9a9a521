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
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

from newsbot.elsewhere import NICENESS
from newsbot.errors import NewsbotError
from newsbot.feeds.fetch import Limits
from newsbot.feeds.poller import PollReport
from newsbot.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoundResult:
    """What one round in the child did: the polls' reports and whether a new version is out."""

    reports: list[PollReport]
    indexed: bool  # the written files went into a published version
    owed: bool  # files written but not yet indexed (the index was busy): the next round retries


class RoundsElsewhere:
    """Runs feed rounds one at a time in a child process started on first use."""

    def __init__(self, settings: Settings, limits: Limits) -> None:
        self.settings, self.limits = settings, limits
        self._pool: ProcessPoolExecutor | None = None

    async def round(self, now: datetime) -> RoundResult:
        """Poll what is due at `now` and index what that wrote, in the child; a child that died
        is replaced at the next round and this one says so."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),  # nothing of the bot's state
                initializer=_start,
                initargs=(self.settings, self.limits),
            )
        try:
            return await asyncio.wrap_future(self._pool.submit(_round, now))
        except BrokenProcessPool:
            self.close()
            message = "The feed process stopped unexpectedly; the next round starts another."
            raise NewsbotError(message) from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# The child's side: one of each, made by `_start`, used by every `_round`.
_child: dict[str, object] = {}


def _start(settings: Settings, limits: Limits) -> None:
    from newsbot.engine import Engine
    from newsbot.feeds.fetch import Fetcher
    from newsbot.feeds.ingest import Ingester
    from newsbot.feeds.store import open_feed_store
    from newsbot.feeds.worker import PollWorker
    from newsbot.logsetup import configure_logging

    configure_logging(settings.log_level)  # a spawned child starts without the bot's set-up
    os.nice(NICENESS)
    loop = asyncio.new_event_loop()
    fetcher = Fetcher(allow_private=settings.feeds_allow_private, limits=limits)
    loop.run_until_complete(fetcher.__aenter__())
    store = open_feed_store(settings)
    engine = Engine.open(settings, build_if_missing=False)
    worker = PollWorker(store, fetcher, Ingester(store, settings.corpus_dir), engine, log.info)
    _child.update(loop=loop, worker=worker)


def _round(now: datetime) -> RoundResult:
    from newsbot.feeds.worker import PollWorker

    loop, worker = _child["loop"], _child["worker"]
    assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(worker, PollWorker)
    before = worker.engine.version
    worker.clock = lambda: now
    reports = loop.run_until_complete(worker.round())
    return RoundResult(reports, indexed=worker.engine.version != before, owed=bool(worker.written))
