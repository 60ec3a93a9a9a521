"""The watches database on both backends: schema on open, kept across reopening, one row per
watch and story, older rows upgraded, several processes sharing one PostgreSQL database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from newsbot.db import Database, migrate
from newsbot.settings import Settings
from newsbot.watches import Delivery, Mode, WatchStore, WatchStoreError, open_watch_store, watches_path
from newsbot.watches.migrations import MIGRATIONS
from newsbot.watches.stories import story_key
from tests.watches.conftest import NOW, SANCTIONS


@pytest.fixture
def store(store_settings: Settings) -> Iterator[WatchStore]:
    with open_watch_store(store_settings) as s:
        yield s


def applied(database: Database) -> list[str]:
    rows = database.run(lambda db: db.execute("SELECT name FROM _migrations ORDER BY name").fetchall())
    return [r["name"] for r in rows]


def test_migrations_run_once_and_data_survives_reopening(store_settings: Settings) -> None:
    names = [m.name for m in MIGRATIONS]
    with open_watch_store(store_settings) as store:
        assert store.database.migrated == names
        watch = store.add("sanctions", Mode.DAILY, NOW, source="Daily Ledger", guild_id=3, channel_id=4)
    with open_watch_store(store_settings) as store:  # applied twice: the second time is a no-op
        assert store.database.migrated == [] and applied(store.database) == sorted(names)
        assert store.get(3, watch.id) == watch
        assert watch.mode is Mode.DAILY and watch.created_at == NOW and watch.source == "Daily Ledger"


def test_the_default_is_one_sqlite_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    open_watch_store(settings).close()
    with closing(sqlite3.connect(watches_path(settings))) as db:
        names = [r[0] for r in db.execute("SELECT name FROM _migrations")]
    assert names == [m.name for m in MIGRATIONS]


def test_a_watch_records_an_article_or_its_story_once(store: WatchStore) -> None:
    watch = store.add("sanctions", Mode.INSTANT, NOW)
    key = story_key(SANCTIONS.text)
    first = store.record(watch, SANCTIONS, key, 0.5, "p", ["sanction"], Delivery.NOW, NOW)
    assert first is not None and first.article.text == "" and first.article.url == SANCTIONS.url
    assert store.record(watch, SANCTIONS, "other", 0.5, "p", ["sanction"], Delivery.NOW, NOW) is None
    assert store.record(watch, SANCTIONS, key, 0.5, "p", [], Delivery.NOW, NOW) is None
    assert store.fired(watch.id, "another-id", key)
    other = store.add("banks", Mode.INSTANT, NOW)
    assert store.record(other, SANCTIONS, key, 0.5, "p", [], Delivery.NOW, NOW) is not None
    assert store.posted_since(watch.id, NOW - timedelta(hours=1)) == 1
    assert store.posted_since(watch.id, NOW + timedelta(seconds=1)) == 0
    assert store.get_match(first.id).terms == ("sanction",)
    assert store.get_match(first.id).article == first.article == replace(SANCTIONS, text="")
    assert [m.id for m in store.recent(watch.id, limit=1)] == [first.id]


def test_removing_a_watch_removes_its_matches(store: WatchStore) -> None:
    watch = store.add("sanctions", Mode.INSTANT, NOW)
    store.record(watch, SANCTIONS, "k", 0.5, "p", [], Delivery.NOW, NOW)
    store.remove(None, watch.id)
    assert store.pending(Delivery.NOW) == []


def test_a_closed_store_says_so(store_settings: Settings) -> None:
    store = open_watch_store(store_settings)
    store.close()
    with pytest.raises(WatchStoreError, match="closed"):
        store.watches()


def test_a_match_stored_before_the_shared_article_encoding_still_reads(tmp_path: Path) -> None:
    """A file whose matches hold the older article JSON (no hashes) is upgraded on open."""
    path = tmp_path / "w.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.row_factory = sqlite3.Row
        migrate(db, MIGRATIONS[:2])
        db.execute(
            "INSERT INTO watches (query, mode, created_at) VALUES ('banks', 'instant', ?)", (NOW.isoformat(),)
        )
        old = {"id": "a-1", "title": "Banks", "source": None, "date": "2025-03-10", "url": None,
               "author": None, "path": "news.jsonl"}  # fmt: skip
        db.execute(
            "INSERT INTO matches (watch_id, article_id, story, strength, matched_at, delivery, article,"
            " passage, terms) VALUES (1, 'a-1', 's', 0.5, ?, 'now', ?, 'p', '[]')",
            (NOW.isoformat(), json.dumps(old)),
        )
    with WatchStore(path) as store:
        assert store.database.migrated == [m.name for m in MIGRATIONS[2:]]
        [match] = store.pending(Delivery.NOW)
        assert match.article.id == "a-1" and match.article.path == "news.jsonl"
        assert match.article.date is not None and match.article.content_hash == ""


def test_processes_on_one_postgres_see_each_others_watches(postgres_url: str, tmp_path: Path) -> None:
    """Two stores on one database (a bot on each of two machines): a watch one adds the other
    lists, a match one records the other will not record again, racing records land once."""
    a = open_watch_store(Settings(data_dir=tmp_path / "a", database_url=postgres_url))
    b = open_watch_store(Settings(data_dir=tmp_path / "b", database_url=postgres_url))
    watch = a.add("sanctions", Mode.INSTANT, NOW, guild_id=5, channel_id=6)
    assert b.watches(5) == [watch]
    key = story_key(SANCTIONS.text)
    assert b.record(watch, SANCTIONS, key, 0.5, "p", [], Delivery.NOW, NOW) is not None
    assert a.fired(watch.id, "a-copy", key)
    assert a.record(watch, replace(SANCTIONS, id="a-copy"), key, 0.5, "p", [], Delivery.NOW, NOW) is None
    b.remember([("x", "h1")], NOW)
    assert a.seen() == {"x": "h1"}

    other = a.add("banks", Mode.INSTANT, NOW)

    def record(n: int) -> bool:  # the same story under twelve ids, from both stores at once
        store = a if n % 2 else b
        copy = replace(SANCTIONS, id=f"copy-{n}")
        return store.record(other, copy, key, 0.5, "p", [], Delivery.NOW, NOW) is not None

    with ThreadPoolExecutor(6) as pool:
        assert sum(pool.map(record, range(12))) == 1
    a.close()
    b.close()
    assert not watches_path(Settings(data_dir=tmp_path / "a")).exists()
