"""Feed polling inside `newsbot run`: only the leading process polls (`newsbot.leader`).

Every process tries to lead now and then; the one that leads polls the due feeds, reindexes
after a round that changed articles, and tells the moderators about a feed that has failed for a
day. By default (`NEWSBOT_REINDEX_IN_CHILD`) fetching, parsing, writing and indexing articles run
in a child process (`feeds.elsewhere`), so they never hold the interpreter the questions need;
otherwise on a worker thread with its own event loop and the reindex in another thread, so the
bot's event loop only ever waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import discord

from newsbot.bot.limits import CONTENT, code, escape, fit
from newsbot.errors import NewsbotError
from newsbot.feeds.elsewhere import RoundsElsewhere
from newsbot.feeds.fetch import Fetcher, Limits
from newsbot.feeds.ingest import Ingester
from newsbot.feeds.poller import PollReport, utcnow
from newsbot.feeds.store import FeedRecord, FeedStore, open_feed_store
from newsbot.feeds.worker import PollWorker
from newsbot.leader import Leadership, leadership

if TYPE_CHECKING:
    from newsbot.bot.client import NewsBot

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    """How the background work paces itself; tests use a clock they move and short naps."""

    clock: Callable[[], datetime] = utcnow
    nap: float = 60.0  # seconds: the longest sleep between two looks at the schedule
    leader_retry: float = 60.0  # seconds between two tries to take the lead
    limits: Limits = field(default_factory=Limits)
    failing_notice: timedelta = timedelta(hours=24)  # failing this long: the moderators are told


TIMING = Timing()


def _say(line: str) -> None:
    """What `PollWorker` tells a terminal, in the bot's log (each feed's result is logged once
    already, so that is debug)."""
    log.debug("%s", line)


class FeedWorker:
    """A thread running its own event loop, holding the fetcher: the polls run there."""

    def __init__(self, allow_private: bool, limits: Limits) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="newsbot-feeds", daemon=True)
        self.fetcher = Fetcher(allow_private=allow_private, limits=limits)

    async def start(self) -> None:
        self._thread.start()
        await self.run(self.fetcher.__aenter__())

    async def run(self, job: Coroutine[Any, Any, T]) -> T:
        """Run `job` on the worker's loop; the caller's loop waits without blocking."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(job, self._loop))

    async def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                await self.run(self.fetcher.__aexit__(None, None, None))
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, 10)
        self._loop.close()


class FeedPolling:
    """The background feed work of one bot process."""

    def __init__(self, bot: NewsBot, timing: Timing | None = None) -> None:
        self.bot = bot
        self.timing = timing or TIMING
        self.leader: Leadership = leadership(bot.settings)
        self.pending = False  # articles written but not yet indexed: indexed after the next round
        self._wake = asyncio.Event()
        self._rng = random.Random()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> FeedPolling:
        self.bot.add_listener(self.on_feed_added)
        self.task = asyncio.create_task(self.run(), name="newsbot feed polling")
        return self

    async def stop(self) -> None:
        self.bot.remove_listener(self.on_feed_added)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def on_feed_added(self, feed: FeedRecord) -> None:
        """A feed added in this process is polled now, not at the next look at the schedule."""
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                if await self._lead():
                    await self._poll_while_leading()
                await self._sleep(self.timing.leader_retry)
        finally:
            await asyncio.to_thread(self.leader.release)

    async def _lead(self) -> bool:
        try:
            return await asyncio.to_thread(self.leader.try_acquire)
        except NewsbotError as exc:  # say, the database driver missing: the bot still answers
            log.warning("Feeds are not polled by this process: %s", exc.message)
            return False

    async def _poll_while_leading(self) -> None:
        if self.bot.settings.reindex_in_child:
            await self._poll_elsewhere_while_leading()
            return
        settings = self.bot.settings
        store = await asyncio.to_thread(open_feed_store, settings)
        worker = FeedWorker(settings.feeds_allow_private, self.timing.limits)
        try:
            await worker.start()
            poller = await asyncio.to_thread(self.poller, store, worker)
            while await self._lead():
                try:
                    await self.round(poller, worker)
                except Exception:  # the loop outlives any one bad round
                    log.exception("A round of feed polling failed")
                await self._sleep(await asyncio.to_thread(self._wait, store))
        finally:
            await worker.stop()
            store.close()

    def poller(self, store: FeedStore, worker: FeedWorker) -> PollWorker:
        """The round `newsbot feeds poll` and the child process run, here on the worker's loop."""
        ingester = Ingester(store, self.bot.settings.corpus_dir)
        return PollWorker(
            store, worker.fetcher, ingester, self.bot.engine, _say, clock=self.timing.clock, rng=self._rng
        )

    async def _poll_elsewhere_while_leading(self) -> None:
        """The same rounds in a child process (`feeds.elsewhere`): the bot's threads keep the
        interpreter for questions; it only swaps to each version the child publishes."""
        settings = self.bot.settings
        rounds = RoundsElsewhere(settings, self.timing.limits)
        store = await asyncio.to_thread(open_feed_store, settings)  # read here: schedule, notices
        try:
            while await self._lead():
                try:
                    await self.round_elsewhere(rounds, store)
                except NewsbotError as exc:
                    log.warning("A round of feed polling failed: %s", exc.message)
                except Exception:  # the loop outlives any one bad round
                    log.exception("A round of feed polling failed")
                await self._sleep(await asyncio.to_thread(self._wait, store))
        finally:
            await asyncio.to_thread(rounds.close)
            store.close()

    async def round_elsewhere(self, rounds: RoundsElsewhere, store: FeedStore) -> list[PollReport]:
        """One round in the child, then the swap to what it published and the day-long
        failure notices."""
        now = self.timing.clock()
        result = await rounds.round(now)  # the child logs each feed's result
        self.pending = result.owed
        if result.indexed:
            await asyncio.to_thread(self.bot.engine.refresh)
            log.info("Feed articles indexed: answering from version %s.", self.bot.engine.version)
        await self._notify_failing(store, now)
        return result.reports

    async def _notify_failing(self, store: FeedStore, now: datetime) -> None:
        for feed in await asyncio.to_thread(store.feeds):
            if self._owes_notice(feed, now) and await post_feed_notice(self.bot, feed, now):
                await asyncio.to_thread(store.update, feed.id, noticed_error_at=feed.first_error_at)

    async def round(self, poller: PollWorker, worker: FeedWorker) -> list[PollReport]:
        """Poll what is due and index what the polls wrote (`PollWorker.round`, on the worker's
        loop: `Engine.add` of those files alone; when the index is busy, an admin's /reindex,
        they are kept and indexed after the next round), then tell the moderators about feeds
        failing for a day."""
        reports = await worker.run(poller.round())
        self.pending = bool(poller.written)
        await self._notify_failing(poller.store, self.timing.clock())
        return reports

    def _owes_notice(self, feed: FeedRecord, now: datetime) -> bool:
        return (
            feed.failing_for(now) >= self.timing.failing_notice
            and feed.noticed_error_at != feed.first_error_at
        )

    def _wait(self, store: FeedStore) -> float:
        """Seconds until the next feed is due, at most one nap (a reindex still owed is retried
        then), and never a busy loop."""
        now = self.timing.clock()
        upcoming = [(f.next_poll_at - now).total_seconds() for f in store.feeds() if f.enabled]
        return max(min(1.0, self.timing.nap), min([*upcoming, self.timing.nap]))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()


async def post_feed_notice(bot: NewsBot, feed: FeedRecord, now: datetime) -> bool:
    """Tell the mod channel that `feed` has failed for a day; True when posted.

    A server's own feed is reported only into a mod channel of that server; the operator's, into
    the mod channel wherever it is. Best effort: a missing or refused channel is logged.
    """
    channel_id = bot.settings.mod_channel_id
    if not channel_id:
        return False
    try:
        channel = bot.get_channel(channel_id) or await bot.fetch_channel(channel_id)
        guild = getattr(channel, "guild", None)
        if feed.owner_guild_id is not None and (guild is None or guild.id != feed.owner_guild_id):
            log.debug("Feed %s failing: the mod channel is in another server, not told", feed.id)
            return False
        if not isinstance(channel, discord.abc.Messageable):
            return False
        hours = int(feed.failing_for(now).total_seconds() // 3600)
        text = (
            f"The feed “{escape(feed.name)}” ({code(feed.url)}) has failed for {hours} h, "
            f"{feed.errors} polls in a row. Last result: {escape(feed.last_result or '-')}. "
            "It is retried with backoff and switched off after 7 days of failures; "
            "`/feeds status` shows it, `/feeds remove` stops it."
        )
        await channel.send(fit(text, CONTENT), allowed_mentions=discord.AllowedMentions.none())
    except (discord.HTTPException, discord.InvalidData) as exc:
        log.warning("Could not tell the mod channel %s about feed %s: %s", channel_id, feed.id, exc)
        return False
    return True
