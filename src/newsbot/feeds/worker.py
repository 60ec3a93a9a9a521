"""`newsbot feeds poll`: poll the feeds only while this process leads the background work.

`newsbot run` polls in its leading process (`bot/background.py`); a poller beside it, or a second
poller, must not poll the same feeds at the same time (two fetches of each feed, two writers of
one article file). So the worker takes the lead (`newsbot.leader`) before each round, says who
holds it when another process does, and tries again every `retry` seconds: when the leader stops,
it takes over. What a round wrote is indexed alone (`Engine.add`), as the bot does.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from newsbot.engine import Engine
from newsbot.errors import IndexBusy, NewsbotError
from newsbot.feeds.fetch import Fetcher
from newsbot.feeds.ingest import Ingester
from newsbot.feeds.poller import LOOP_NAP, PollReport, poll_due, utcnow
from newsbot.feeds.store import FeedStore
from newsbot.leader import Leadership
from newsbot.records import BuildReport

log = logging.getLogger(__name__)
Say = Callable[[str], None]
RETRY = 60.0  # seconds between two tries to take the lead while another process holds it


def leader_text(lead: Leadership) -> str:
    """Who leads, for a sentence: the holder's own description, else 'another process'."""
    return lead.holder() or "another process"


class PollWorker:
    """Polls the due feeds and indexes what they wrote; one per `newsbot feeds poll`."""

    def __init__(
        self,
        store: FeedStore,
        fetcher: Fetcher,
        ingester: Ingester,
        engine: Engine,
        say: Say,
        *,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        nap: timedelta = LOOP_NAP,
    ) -> None:
        self.store, self.fetcher, self.ingester, self.engine = store, fetcher, ingester, engine
        self.say, self.clock, self.rng, self.nap = say, clock, rng or random.Random(), nap
        self.written: set[str] = set()  # corpus paths written and not yet indexed (a failed add)

    async def round(self, *, every_feed: bool = False) -> list[PollReport]:
        """Poll what is due (or every enabled feed), then index the files the polls wrote."""
        reports = await poll_due(
            self.store, self.fetcher, self.ingester, self.clock(), self.rng, every_feed=every_feed
        )
        for r in reports:
            log.info("feed %s: %s", r.name, r.result)
            self.say(f"{self.clock():%Y-%m-%d %H:%M UTC} {r.name}: {r.result}")
            self.written.update(r.changes.added + r.changes.updated)
        if self.written:
            await self.index()
        return reports

    async def index(self) -> BuildReport | None:
        """`Engine.add` on the written files only (no listing of the corpus); when it fails, they
        are kept and indexed after the next round."""
        paths = [self.engine.settings.corpus_dir / p for p in sorted(self.written)]
        try:
            report = await asyncio.to_thread(self.engine.add, paths)
        except IndexBusy as exc:
            log.info("Feed articles wait for the next round: %s", exc.message)
            self.say(f"Not indexed yet: {exc.message} (retried after the next round)")
            return None
        except NewsbotError as exc:  # the corpus folder gone, another corpus indexed
            log.warning("Feed articles not indexed yet: %s", exc.message)
            self.say(f"Not indexed: {exc.message}")
            return None
        self.written.clear()
        log.info("Indexed after feeds: %d articles, %d passages.", report.articles, report.passages)
        self.say(
            f"Reindexed {len(paths)} new or changed files: {report.articles:,} articles, "
            f"{report.passages:,} passages."
        )
        return report

    def pause(self) -> float:
        """Seconds until the next feed is due: at least 1, at most one nap (the lead is checked
        after each)."""
        now = self.clock()
        upcoming = [f.next_poll_at - now for f in self.store.feeds() if f.enabled]
        return max(min([*upcoming, self.nap]).total_seconds(), 1.0)

    async def run(self, lead: Leadership, *, retry: float = RETRY) -> None:
        """Forever: a round, then a pause, while this process leads; while another does, say who
        (again when that changes) and try again every `retry` seconds."""
        leading = False
        waiting_for: str | None = None
        while True:
            if await asyncio.to_thread(lead.try_acquire):
                if not leading:
                    self.say("This process leads the background work: polling the feeds.")
                    leading, waiting_for = True, None
                try:
                    await self.round()
                except NewsbotError as exc:  # the store, say: the next round retries
                    self.say(f"A round of polling failed: {exc.message}")
                await asyncio.sleep(await asyncio.to_thread(self.pause))
                continue
            who = await asyncio.to_thread(leader_text, lead)
            if leading:
                self.say(f"Lost the lead to {who}: not polling until this process leads again.")
                leading = False
            if who != waiting_for:
                self.say(
                    f"Waiting: {who} leads the background work and polls the feeds; "
                    f"trying again every {retry:g} s."
                )
                waiting_for = who
            await asyncio.sleep(retry)
