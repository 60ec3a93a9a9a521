"""Fixtures for the feed tests: the local server, a fetcher allowed to reach it, a store."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from newsbot.feeds.fetch import Fetcher, Limits
from newsbot.feeds.store import FeedStore
from tests.feeds.server import FeedServer

LOCAL = (ipaddress.ip_network("127.0.0.1/32"),)  # the test server, and no other private address
FAST = Limits(connect=2.0, total=2.0, host_spacing=0.0)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    srv = await FeedServer().start()
    yield srv
    await srv.close()


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(limits=FAST, extra_allowed=LOCAL) as f:
        yield f


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FeedStore]:
    s = FeedStore(tmp_path / "data" / "feeds.sqlite3")
    yield s
    s.close()
