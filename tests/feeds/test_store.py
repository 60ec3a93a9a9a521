import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from newsbot.errors import NotFound
from newsbot.feeds.migrations import MIGRATIONS
from newsbot.feeds.store import FeedExists, FeedStore

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_migrations_run_once_on_open(tmp_path: Path) -> None:
    path = tmp_path / "feeds.sqlite3"
    FeedStore(path).close()
    FeedStore(path).close()
    with sqlite3.connect(path) as db:
        names = [n for (n,) in db.execute("SELECT name FROM _migrations")]
    assert names == [m.name for m in MIGRATIONS]


def test_feeds_owners_and_lookup(store: FeedStore) -> None:
    op = store.add("https://example.org/rss", "Wire", "wire", timedelta(minutes=30), NOW)
    guild = store.add("https://example.org/rss", "Wire", "wire", timedelta(hours=1), NOW, owner_guild_id=42)
    assert op.owner_guild_id is None and guild.owner_guild_id == 42
    assert guild.slug == "wire-2"  # each feed its own corpus folder
    with pytest.raises(FeedExists):
        store.add("https://example.org/rss", "Again", "again", timedelta(minutes=30), NOW, owner_guild_id=42)
    with pytest.raises(FeedExists):
        store.add("https://example.org/rss", "Again", "again", timedelta(minutes=30), NOW)
    assert [f.id for f in store.feeds(42, every_owner=False)] == [guild.id]
    assert [f.id for f in store.feeds(None, every_owner=False)] == [op.id]
    assert store.find("wire-2") == guild and store.find(str(op.id)) == op
    with pytest.raises(NotFound):
        store.find("nope")
    assert store.remove(op.id) == op and [f.id for f in store.feeds()] == [guild.id]


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "feeds.sqlite3"
    store = FeedStore(path)
    feed = store.add("https://example.org/rss", "Wire", "wire", timedelta(minutes=30), NOW)
    etag = 'W/"\x7f ü \\"'
    store.update(feed.id, etag=etag, next_poll_at=NOW + timedelta(hours=1), errors=3, first_error_at=NOW)
    sets = np.array([1, 2**63 + 5, 2**64 - 1], dtype=np.uint64)
    store.put_text("feeds/wire/a.md", "https://example.org/a", "hash", sets, NOW)
    store.close()
    again = FeedStore(path)
    saved = again.get(feed.id)
    assert saved.etag == etag and saved.errors == 3 and saved.next_poll_at == NOW + timedelta(hours=1)
    assert again.text_at_url("https://example.org/a") == "feeds/wire/a.md"
    ((p, key, got, when),) = list(again.recent_texts(10))
    assert (p, key, when) == ("feeds/wire/a.md", "hash", None) and got.tolist() == sets.tolist()
    again.close()
