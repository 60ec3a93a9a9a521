"""The query log schema, as an append-only list of migrations (the simonw/llm way).

Each migration runs once, in order, and is recorded by name in `_migrations`. Never edit or
reorder one that has shipped: a database out there already has it. Add a new one instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[sqlite3.Connection], None]


MIGRATIONS: list[Migration] = []


def migration(fn: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
    """Append `fn` to MIGRATIONS under its own name."""
    MIGRATIONS.append(Migration(fn.__name__, fn))
    return fn


@migration
def m001_queries(db: sqlite3.Connection) -> None:
    # created_at is ISO 8601 UTC with microseconds: text order is time order.
    db.execute("""
        CREATE TABLE queries (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            question TEXT NOT NULL,
            interface TEXT NOT NULL,
            outcome TEXT NOT NULL,
            guild_id INTEGER,
            channel_id INTEGER,
            user_id INTEGER,
            user_name TEXT,
            filters TEXT NOT NULL DEFAULT '{}',
            latency_ms REAL NOT NULL DEFAULT 0,
            index_version TEXT,
            error TEXT
        )""")
    db.execute("CREATE INDEX queries_created ON queries (created_at)")
    db.execute("CREATE INDEX queries_guild_created ON queries (guild_id, created_at)")
    db.execute("""
        CREATE TABLE shown (
            query_id INTEGER NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
            rank INTEGER NOT NULL,
            article_id TEXT NOT NULL,
            passage_id INTEGER NOT NULL,
            title TEXT NOT NULL,
            score REAL NOT NULL,
            PRIMARY KEY (query_id, rank)
        )""")


@migration
def m002_feedback(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE queries ADD COLUMN message_id INTEGER")
    db.execute("CREATE INDEX queries_message ON queries (message_id) WHERE message_id IS NOT NULL")
    db.execute("CREATE INDEX queries_guild_user ON queries (guild_id, user_id)")
    db.execute("""
        CREATE TABLE votes (
            query_id INTEGER NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL,
            up INTEGER NOT NULL CHECK (up IN (0, 1)),
            voted_at TEXT NOT NULL,
            PRIMARY KEY (query_id, user_id)
        )""")
    db.execute("CREATE INDEX votes_user ON votes (user_id)")
    db.execute("""
        CREATE TABLE flags (
            id INTEGER PRIMARY KEY,
            query_id INTEGER NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
            moderator_id INTEGER NOT NULL,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX flags_query ON flags (query_id)")


def applied(db: sqlite3.Connection) -> set[str]:
    """Names of the migrations this database has."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    return {name for (name,) in db.execute("SELECT name FROM _migrations")}


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply the pending migrations, each in its own transaction; return their names.

    `db` must be in autocommit mode (isolation_level=None). Another process opening the same
    file at the same moment is safe: the check is repeated under the write lock.
    """
    done: list[str] = []
    for m in migrations:
        if m.name in applied(db):
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            if m.name not in applied(db):
                m.apply(db)
                db.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                    (m.name, datetime.now(UTC).isoformat()),
                )
                done.append(m.name)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return done
