"""The bot's feed rounds in a child process: a real spawned process, a local feed server."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import replace
from datetime import timedelta

import pytest

from newsbot.engine import Engine
from newsbot.errors import NewsbotError
from newsbot.feeds.elsewhere import RoundsElsewhere
from newsbot.feeds.fetch import Limits
from newsbot.feeds.poller import utcnow
from newsbot.feeds.store import open_feed_store
from newsbot.settings import Settings
from tests.feeds.server import FIXTURES, FeedServer, Item, page, rss


async def test_the_child_polls_indexes_and_is_replaced_when_it_dies(
    server: FeedServer, settings: Settings
) -> None:
    settings = replace(settings, feeds_allow_private=True)
    first, second = FIXTURES[1], FIXTURES[2]
    server.serve("/a", page(first.title, first.text))
    server.serve("/b", page(second.title, second.text))
    server.serve("/feed", rss([Item(first.title, first.text, link=server.url("/a"), guid="a")]))
    engine = Engine.open(settings)
    store = open_feed_store(settings)
    store.add(server.url("/feed"), "Marlow Mail", "marlow", timedelta(minutes=30), utcnow())
    rounds = RoundsElsewhere(settings, Limits(host_spacing=0.0))
    try:
        result = await rounds.round(utcnow())
        assert [r.changes.added for r in result.reports] and result.indexed and not result.owed
        assert engine.refresh()  # the child published a version this process had not
        assert engine.ask(first.title).hits[0].citation.url == server.url("/a")

        pid = rounds.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # between rounds: the next round starts another child
        async with asyncio.timeout(10):
            while rounds.pid is not None:
                await asyncio.sleep(0.02)
        server.serve("/feed", rss([Item(second.title, second.text, link=server.url("/b"), guid="b")]))
        result = await rounds.round(utcnow() + timedelta(hours=1))
        assert result.indexed and rounds.pid not in (None, pid)
        assert engine.refresh() and engine.ask(second.title).hits[0].citation.url == server.url("/b")
    finally:
        rounds.close()
        store.close()
        engine.close()
    assert rounds.pid is None


async def test_a_round_that_fails_in_the_child_is_reported_with_its_reason(settings: Settings) -> None:
    """A store the child cannot open (the data folder is a file): the round says why."""
    blocked = settings.data_dir.parent / "blocked"
    blocked.write_text("not a folder")
    rounds = RoundsElsewhere(replace(settings, data_dir=blocked), Limits())
    try:
        with pytest.raises(NewsbotError, match=r"feed process could not start: .*feed"):
            await rounds.round(utcnow())
    finally:
        rounds.close()
