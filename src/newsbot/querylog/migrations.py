"""The query log schema, as an append-only list of migrations (the simonw/llm way).

Each migration runs once, in order, and is recorded by name in `_migrations`. Never edit or
reorder one that has shipped: a database out there already has it. Add a new one instead.

Migrations are written in SQLite's SQL; on PostgreSQL the same list runs through `Schema`, which
maps SQLite's column types to PostgreSQL's (INTEGER holds 64-bit Discord ids in SQLite, so it is
BIGINT there) and `?` placeholders to psycopg's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol


class Schema(Protocol):
    """What a migration may use: `execute` with `?` placeholders (an sqlite3 connection is one)."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[Schema], None]


Apply = Callable[[Schema], None]


def registry() -> tuple[list[Migration], Callable[[Apply], Apply]]:
    """A new append-only list of migrations, and the decorator that appends a function to it
    under its own name (the query log's, the feed store's and the watches' lists are made so)."""
    found: list[Migration] = []

    def migration(fn: Apply) -> Apply:
        found.append(Migration(fn.__name__, fn))
        return fn

    return found, migration


MIGRATIONS, migration = registry()


@migration
def m001_queries(db: Schema) -> None:
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
def m002_feedback(db: Schema) -> None:
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


def applied(db: Schema) -> set[str]:
    """Names of the migrations this database has."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    rows = db.execute("SELECT name FROM _migrations").fetchall()
    # Tuples from a bare sqlite3 connection, dicts from psycopg: the one column either way.
    return {row["name"] if isinstance(row, dict) else row[0] for row in rows}


def apply_pending(
    transaction: Callable[[], AbstractContextManager[Schema]], migrations: Sequence[Migration] = MIGRATIONS
) -> list[str]:
    """Apply the pending migrations, each in its own transaction; return their names.

    `transaction` opens one that excludes other writers (so another process opening the same
    database at the same moment is safe: the check is repeated inside it).
    """
    done: list[str] = []
    for m in migrations:
        with transaction() as db:
            if m.name in applied(db):
                continue
            m.apply(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (m.name, datetime.now(UTC).isoformat()),
            )
            done.append(m.name)
    return done


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply the pending migrations to an SQLite database in autocommit mode (isolation_level=None)."""

    @contextmanager
    def transaction() -> Iterator[Schema]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    return apply_pending(transaction, migrations)
