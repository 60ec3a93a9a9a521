"""The feed store on both backends: schema on open, state kept across reopening, owners, and
several processes sharing one PostgreSQL database."""

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest

from newsbot.db import Database
from newsbot.errors import NotFound
from newsbot.feeds.migrations import MIGRATIONS
from newsbot.feeds.store import FeedExists, FeedStore, ItemRecord, open_feed_store
from newsbot.settings import Settings

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def applied(database: Database) -> list[str]:
    rows = database.run(lambda db: db.execute("SELECT name FROM _migrations ORDER BY name").fetchall())
    return [r["name"] for r in rows]


def test_migrations_run_once_on_open(store_settings: Settings) -> None:
    names = [m.name for m in MIGRATIONS]
    with open_feed_store(store_settings) as first:
        assert first.database.migrated == names and applied(first.database) == sorted(names)
        first.add("https://example.org/rss", "Wire", "wire", timedelta(minutes=30), NOW)
    with open_feed_store(store_settings) as again:  # applied twice: the second time is a no-op
        assert again.database.migrated == [] and applied(again.database) == sorted(names)
        assert [f.slug for f in again.feeds()] == ["wire"]


def test_the_default_is_one_sqlite_file(tmp_path: Path) -> None:
    open_feed_store(Settings(data_dir=tmp_path)).close()
    with sqlite3.connect(tmp_path / "feeds.sqlite3") as db:
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


def test_a_feed_moves_unless_its_owner_follows_the_new_url(store: FeedStore) -> None:
    old = store.add("https://example.org/old", "Old", "old", timedelta(minutes=30), NOW, owner_guild_id=7)
    store.add("https://example.org/new", "New", "new", timedelta(minutes=30), NOW, owner_guild_id=7)
    store.add("https://example.org/other", "Op", "op", timedelta(minutes=30), NOW)
    assert not store.move(old.id, "https://example.org/new")
    assert store.move(old.id, "https://example.org/other")  # the operator's feed is another owner's
    assert store.get(old.id).url == "https://example.org/other"


def test_state_survives_reopening(store_settings: Settings) -> None:
    store = open_feed_store(store_settings)
    feed = store.add("https://example.org/rss", "Wire", "wire", timedelta(minutes=30), NOW)
    etag = 'W/"\x7f ü \\"'
    store.update(
        feed.id, etag=etag, next_poll_at=NOW + timedelta(hours=1), errors=3, first_error_at=NOW, enabled=False
    )
    sets = np.array([1, 2**63 + 5, 2**64 - 1], dtype=np.uint64)
    store.put_text("feeds/wire/a.md", "https://example.org/a", "hash", sets, NOW)
    store.close()
    again = open_feed_store(store_settings)
    saved = again.get(feed.id)
    assert saved.etag == etag and saved.errors == 3 and saved.next_poll_at == NOW + timedelta(hours=1)
    assert saved.enabled is False
    assert again.text_at_url("https://example.org/a") == "feeds/wire/a.md"
    ((p, key, got, when),) = list(again.recent_texts(10))
    assert (p, key, when) == ("feeds/wire/a.md", "hash", None) and got.tolist() == sets.tolist()
    again.close()


def test_items_and_texts_are_replaced_in_place(store: FeedStore) -> None:
    feed = store.add("https://example.org/rss", "Wire", "wire", timedelta(minutes=30), NOW)
    item = ItemRecord(feed.id, "k", "https://example.org/a", "A", "h1", "feeds/wire/k.md", None, None,
                      True, NOW, NOW, NOW)  # fmt: skip
    store.put_item(item)
    changed = ItemRecord(feed.id, "k", "https://example.org/a", "A2", "h2", "feeds/wire/k.md", None, None,
                         False, NOW, NOW, NOW + timedelta(hours=1))  # fmt: skip
    store.put_item(changed)
    assert store.item(feed.id, "k") == changed and store.articles(feed.id) == 1
    sets = np.array([3, 4], dtype=np.uint64)
    store.put_text("feeds/wire/k.md", "https://example.org/a", "t1", sets, NOW)
    # The same URL at another path replaces the first row, as the text moved.
    store.put_text("feeds/wire/k2.md", "https://example.org/a", "t2", sets, NOW + timedelta(seconds=1))
    assert store.text_at_url("https://example.org/a") == "feeds/wire/k2.md"
    assert [p for p, *_ in store.recent_texts(10)] == ["feeds/wire/k2.md"]


def test_recent_texts_are_the_newest_oldest_first(store: FeedStore) -> None:
    sets = np.array([1], dtype=np.uint64)
    for n in range(5):
        store.put_text(f"feeds/w/{n}.md", None, f"h{n}", sets, NOW + timedelta(minutes=n))
    assert [p for p, *_ in store.recent_texts(3)] == ["feeds/w/2.md", "feeds/w/3.md", "feeds/w/4.md"]


def test_processes_on_one_postgres_see_each_others_feeds(postgres_url: str, tmp_path: Path) -> None:
    """Two stores on one database (as a bot and `newsbot feeds` on two machines): what one adds
    or changes the other reads at once; adds racing from six connections all land, once each."""
    a = open_feed_store(Settings(data_dir=tmp_path / "a", database_url=postgres_url))
    b = open_feed_store(Settings(data_dir=tmp_path / "b", database_url=postgres_url))
    feed = a.add("https://example.org/rss", "Wire", "wire", timedelta(minutes=30), NOW)
    assert b.get(feed.id) == feed
    b.update(feed.id, errors=2)
    assert a.get(feed.id).errors == 2
    with pytest.raises(FeedExists):
        b.add("https://example.org/rss", "Again", "again", timedelta(minutes=30), NOW)

    def add(n: int) -> str:
        store = a if n % 2 else b
        return store.add(f"https://example.org/{n}", "Same", "same", timedelta(minutes=30), NOW).slug

    with ThreadPoolExecutor(6) as pool:
        slugs = list(pool.map(add, range(12)))
    assert sorted(slugs) == sorted(["same", *(f"same-{n}" for n in range(2, 13))])
    assert len(a.feeds()) == len(b.feeds()) == 13
    a.close()
    b.close()
    assert not (tmp_path / "a" / "feeds.sqlite3").exists()
    with psycopg.connect(postgres_url) as conn:  # in a schema of its own, apart from other stores
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'feeds'")}
    assert {"feeds", "items", "texts", "_migrations"} <= tables
