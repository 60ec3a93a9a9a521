"""The watches database: schema on open, kept across reopening, one row per watch and story."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from newsbot.watches import Delivery, Mode, WatchStore, WatchStoreError
from newsbot.watches.migrations import MIGRATIONS
from newsbot.watches.stories import story_key
from tests.watches.conftest import NOW, SANCTIONS


def test_migrations_run_once_and_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    with WatchStore(path) as store:
        watch = store.add("sanctions", Mode.DAILY, NOW, source="Daily Ledger", guild_id=3, channel_id=4)
    with WatchStore(path) as store:
        assert store.get(3, watch.id) == watch
        assert watch.mode is Mode.DAILY and watch.created_at == NOW and watch.source == "Daily Ledger"
    names = [r[0] for r in sqlite3.connect(path).execute("SELECT name FROM _migrations")]
    assert names == [m.name for m in MIGRATIONS]


def test_a_watch_records_an_article_or_its_story_once(tmp_path: Path) -> None:
    with WatchStore(tmp_path / "w.sqlite3") as store:
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


def test_removing_a_watch_removes_its_matches(tmp_path: Path) -> None:
    with WatchStore(tmp_path / "w.sqlite3") as store:
        watch = store.add("sanctions", Mode.INSTANT, NOW)
        store.record(watch, SANCTIONS, "k", 0.5, "p", [], Delivery.NOW, NOW)
        store.remove(None, watch.id)
        assert store.pending(Delivery.NOW) == []


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = WatchStore(tmp_path / "w.sqlite3")
    store.close()
    with pytest.raises(WatchStoreError):
        store.watches()
