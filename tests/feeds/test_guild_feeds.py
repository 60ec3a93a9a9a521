"""A server's own feed: its articles live in that server's corpus folder, and copies are folded
only into an article the feed's owner can see."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsbot.corpus.scope import Scope
from newsbot.feeds.fetch import Fetcher
from newsbot.feeds.ingest import Ingester
from newsbot.feeds.poller import PollReport, poll_feed
from newsbot.feeds.store import FeedRecord, FeedStore
from tests.feeds.server import FIXTURES, FeedServer, Item, page, rss

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
GUILD_A, GUILD_B = 111, 222


def follow(server: FeedServer, store: FeedStore, path: str, owner: int | None) -> FeedRecord:
    """A feed at `path` carrying FIXTURES[0]'s page, followed by `owner`."""
    fixture = FIXTURES[0]
    server.serve("/news/0", page(fixture.title, fixture.text))
    item = Item(fixture.title, fixture.text, link=server.url("/news/0"), guid=f"{path}-0")
    server.serve(path, rss([item], title=f"Wire {path}"))
    name = f"wire{path.replace('/', '-')}"
    return store.add(server.url(path), name, name, timedelta(minutes=30), NOW, owner)


async def poll(feed: FeedRecord, fetcher: Fetcher, store: FeedStore, corpus: Path) -> PollReport:
    return await poll_feed(store.get(feed.id), fetcher, store, Ingester(store, corpus), NOW, random.Random(1))


async def test_a_guild_feed_writes_under_the_guilds_folder(
    server: FeedServer, fetcher: Fetcher, store: FeedStore, tmp_path: Path
) -> None:
    report = await poll(follow(server, store, "/a", GUILD_A), fetcher, store, tmp_path)
    [path] = report.changes.added
    assert path.startswith(f"guilds/{GUILD_A}/feeds/wire-a/") and (tmp_path / path).is_file()
    assert Scope.of_path(path) == Scope(GUILD_A)
    operator = await poll(follow(server, store, "/op", None), fetcher, store, tmp_path)
    [mine] = operator.changes.added  # the same article: not folded into a server's copy
    assert mine.startswith("feeds/wire-op/") and Scope.of_path(mine).operator


async def test_copies_fold_only_into_what_the_owner_sees(
    server: FeedServer, fetcher: Fetcher, store: FeedStore, tmp_path: Path
) -> None:
    first = await poll(follow(server, store, "/a", GUILD_A), fetcher, store, tmp_path)
    other = await poll(follow(server, store, "/b", GUILD_B), fetcher, store, tmp_path)
    assert other.changes.folded == 0 and other.changes.added[0].startswith(f"guilds/{GUILD_B}/")
    assert first.changes.added[0] != other.changes.added[0]
    operator = await poll(follow(server, store, "/op", None), fetcher, store, tmp_path)
    later = await poll(follow(server, store, "/c", GUILD_A), fetcher, store, tmp_path)
    # A server's feed repeating the operator's article adds nothing: the server sees that one.
    assert later.changes.added == () and later.changes.folded == 1
    assert [name for name, _, _ in store.reported_by(operator.changes.added[0])] == ["wire-c"]
