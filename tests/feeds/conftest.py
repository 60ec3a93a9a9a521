"""Fixtures for the feed tests: the local server, a fetcher allowed to reach it, a store (each test
that uses one runs on SQLite and on a real PostgreSQL)."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from newsbot.feeds.fetch import Fetcher, Limits
from newsbot.feeds.store import FeedStore, open_feed_store
from newsbot.settings import Settings
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


@pytest.fixture(params=["sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose feed store is an SQLite file, or a fresh PostgreSQL database."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return Settings(data_dir=tmp_path / "data", database_url=url)


@pytest.fixture
def store(store_settings: Settings) -> Iterator[FeedStore]:
    s = open_feed_store(store_settings)
    yield s
    s.close()
