"""`newsbot feeds poll`'s loop with real leadership objects: it polls only while it leads."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

from newsbot.engine import Engine
from newsbot.feeds.fetch import Fetcher
from newsbot.feeds.ingest import Ingester
from newsbot.feeds.poller import utcnow
from newsbot.feeds.store import open_feed_store
from newsbot.feeds.worker import PollWorker
from newsbot.leader import FileLeadership
from newsbot.settings import Settings
from tests.feeds.server import FIXTURES, FeedServer, Item, page, rss


async def test_polls_only_while_leading_and_indexes_what_it_wrote(
    server: FeedServer, fetcher: Fetcher, settings: Settings
) -> None:
    fixture = FIXTURES[1]
    server.serve("/a", page(fixture.title, fixture.text))
    server.serve("/feed", rss([Item(fixture.title, fixture.text, link=server.url("/a"), guid="m")]))
    store = open_feed_store(settings)
    engine = Engine.open(settings)
    store.add(server.url("/feed"), "Marlow Mail", "marlow", timedelta(minutes=30), utcnow())
    said: list[str] = []
    worker = PollWorker(
        store, fetcher, Ingester(store, settings.corpus_dir), engine, said.append, nap=timedelta(0)
    )
    other, mine = FileLeadership(settings.data_dir), FileLeadership(settings.data_dir)  # two opens
    assert other.try_acquire()

    async def saying(text: str) -> str:
        async with asyncio.timeout(20):
            while not any(text in line for line in said):
                await asyncio.sleep(0.02)
        return next(line for line in said if text in line)

    task = asyncio.create_task(worker.run(mine, retry=0.05))
    try:
        waiting = await saying("Waiting: ")
        assert f"pid {os.getpid()} on " in waiting and "polls the feeds" in waiting
        await asyncio.sleep(0.3)  # several tries, no poll
        assert server.hits("/feed") == [] and not mine.held
        other.release()
        await saying("This process leads")
        await saying("Reindexed 1 new or changed files")
        assert engine.ask("Marlow library").hits[0].citation.source == "Marlow Mail"
        mine.release()  # another process takes the lead while this one naps
        assert other.try_acquire()
        await saying("Lost the lead to pid ")
        assert len(server.hits("/feed")) == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        other.release()
        engine.close()
        store.close()
