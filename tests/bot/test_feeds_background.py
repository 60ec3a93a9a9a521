"""The background round on its own: a reindex that finds the index busy is owed, not lost."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from newsbot.bot.background import FeedPolling, FeedWorker, Timing
from newsbot.bot.client import NewsBot
from newsbot.engine import Engine
from newsbot.feeds.elsewhere import RoundsElsewhere
from newsbot.feeds.fetch import Limits
from newsbot.feeds.store import open_feed_store
from newsbot.settings import Settings
from tests.feeds.server import FeedServer, Item, page, rss

from .test_e2e import HeldReindex

TEXT = (
    "Otters in the canal were seen juggling pebbles by dozens of commuters on Monday, "
    "the river trust said, and a zoologist explained that juggling keeps young otters busy. "
) * 4


async def test_a_busy_index_leaves_the_feeds_reindex_to_the_next_round(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = await asyncio.to_thread(Engine.open, settings)
    polling = FeedPolling(NewsBot(settings, engine=engine), Timing(limits=Limits(host_spacing=0.0)))
    server = await FeedServer().start()
    store = open_feed_store(settings)
    worker = FeedWorker(allow_private=True, limits=Limits(host_spacing=0.0))
    await worker.start()
    try:
        server.serve("/otters", page("Otters juggle pebbles", TEXT))
        item = Item("Otters juggle pebbles", TEXT, link=server.url("/otters"), guid="o-1")
        server.serve("/feed", rss([item], title="Canal News"))
        now = datetime.now(UTC)
        store.add(server.url("/feed"), "Canal News", "canal-news", timedelta(minutes=30), now)
        poller = polling.poller(store, worker)

        held = HeldReindex(monkeypatch)  # an admin's /reindex is running
        admin = asyncio.ensure_future(asyncio.to_thread(engine.reindex))
        await held.running()
        [report] = await polling.round(poller, worker)
        assert report.changes.added and polling.pending  # written, not indexed yet: owed
        held.release.set()
        await admin

        assert await polling.round(poller, worker) == []  # nothing due: only the reindex
        assert not polling.pending
        hits = engine.ask("why do otters juggle pebbles?").hits
        assert hits and hits[0].citation.url == server.url("/otters")
        assert hits[0].citation.source == "Canal News"
    finally:
        await worker.stop()
        store.close()
        await server.close()
        engine.close()


async def test_a_round_in_the_child_process_is_answered_by_the_bot(settings: Settings) -> None:
    """The default: the child polls and indexes; the bot swaps to the version it published."""
    settings = replace(settings, reindex_in_child=True, feeds_allow_private=True)
    engine = await asyncio.to_thread(Engine.open, settings)
    polling = FeedPolling(NewsBot(settings, engine=engine), Timing(limits=Limits(host_spacing=0.0)))
    rounds = RoundsElsewhere(settings, polling.timing.limits)
    server = await FeedServer().start()
    store = open_feed_store(settings)
    try:
        server.serve("/otters", page("Otters juggle pebbles", TEXT))
        item = Item("Otters juggle pebbles", TEXT, link=server.url("/otters"), guid="o-1")
        server.serve("/feed", rss([item], title="Canal News"))
        store.add(server.url("/feed"), "Canal News", "canal-news", timedelta(minutes=30), datetime.now(UTC))
        assert not engine.ask("why do otters juggle pebbles?").hits

        [report] = await polling.round_elsewhere(rounds, store)
        assert report.changes.added and not polling.pending
        hits = engine.ask("why do otters juggle pebbles?").hits  # this process, no reload by hand
        assert hits and hits[0].citation.url == server.url("/otters")
        assert hits[0].citation.source == "Canal News"
        assert await polling.round_elsewhere(rounds, store) == []  # not due again: nothing fetched
        assert len(server.hits("/feed")) == 1
    finally:
        await asyncio.to_thread(rounds.close)
        store.close()
        await server.close()
        engine.close()
