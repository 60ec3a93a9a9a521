"""The schema is built by append-only migrations, and an older file is upgraded in place."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from newsbot.db import Migration, migrate
from newsbot.querylog import MIGRATIONS, QueryRecord, Shown, SqliteQueryLog


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _applied(path: Path) -> list[str]:
    with closing(_connect(path)) as db:
        return [n for (n,) in db.execute("SELECT name FROM _migrations ORDER BY rowid")]


def test_there_is_a_real_upgrade_path() -> None:
    names = [m.name for m in MIGRATIONS]
    assert len(names) >= 2
    assert names == sorted(names), "migrations are applied in list order; keep names ordered"
    assert len(set(names)) == len(names)


def test_blank_database_gets_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    SqliteQueryLog(path).close()
    assert _applied(path) == [m.name for m in MIGRATIONS]
    with closing(_connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"queries", "shown", "votes", "flags", "_migrations"} <= tables


def test_reopening_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    SqliteQueryLog(path).close()
    with closing(_connect(path)) as db:
        assert migrate(db, MIGRATIONS) == []
    assert _applied(path) == [m.name for m in MIGRATIONS]


def test_older_database_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    db = _connect(path)
    assert migrate(db, MIGRATIONS[:1]) == [MIGRATIONS[0].name]
    # A row as the first release wrote it: no message_id column, no votes table yet.
    db.execute(
        "INSERT INTO queries (created_at, question, interface, outcome, guild_id,"
        " user_id, filters, latency_ms) VALUES"
        " ('2030-01-02T03:04:05.000006+00:00', 'old question?', 'slash', 'answered',"
        ' 7, 42, \'{"source": "cnn.com"}\', 12.5)'
    )
    db.execute("INSERT INTO shown VALUES (1, 0, 'art-1', 3, 'A title', 9.5)")
    db.close()

    with SqliteQueryLog(path) as store:
        q = store.get(7, 1)
        assert q.record.question == "old question?"
        assert q.record.filters == {"source": "cnn.com"}
        assert q.record.shown == (Shown("art-1", 3, "A title", 9.5),)  # no second passage then
        assert q.record.shown[0].second_passage_id is None
        assert q.record.message_id is None
        assert store.vote(1, 99, up=True).up == 1  # the new tables work on the old row
        new_id = store.record(QueryRecord("new?", "slash", "no_match", guild_id=7, message_id=5))
        assert store.get(7, new_id).record.message_id == 5  # the column m002 added
        shown = (Shown("art-2", 8, "Another", 1.5, 9),)
        with_second = store.record(QueryRecord("again?", "slash", "answered", guild_id=7, shown=shown))
        assert store.get(7, with_second).record.shown == shown  # the column m003 added
    assert _applied(path) == [m.name for m in MIGRATIONS]


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")

    with closing(_connect(tmp_path / "log.sqlite3")) as db:
        with pytest.raises(RuntimeError):
            migrate(db, [*MIGRATIONS, Migration("m999_broken", broken)])
        names = {n for (n,) in db.execute("SELECT name FROM _migrations")}
        half_done = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").fetchone()
    assert names == {m.name for m in MIGRATIONS}
    assert half_done is None
