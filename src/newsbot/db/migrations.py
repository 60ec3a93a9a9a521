"""Schemas as append-only lists of migrations (the simonw/llm way), one list per store.

Each migration runs once, in order, and is recorded by name in the store's `_migrations` table.
Never edit or reorder one that has shipped: a database out there already has it. Add a new one.

Migrations are written in SQLite's SQL; on PostgreSQL the same list runs through a `Schema` that
maps SQLite's column types to PostgreSQL's (`newsbot.db.postgres.pg_sql`).
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


Apply = Callable[[Schema], None]


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Apply


def registry() -> tuple[list[Migration], Callable[[Apply], Apply]]:
    """A new append-only list of migrations, and the decorator that appends a function to it
    under its own name (the query log's, the feed store's and the watch store's lists are made so)."""
    found: list[Migration] = []

    def migration(fn: Apply) -> Apply:
        found.append(Migration(fn.__name__, fn))
        return fn

    return found, migration


def applied(db: Schema) -> set[str]:
    """Names of the migrations this database has."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    rows = db.execute("SELECT name FROM _migrations").fetchall()
    # Tuples from a bare sqlite3 connection, rows read by name otherwise: the one column either way.
    return {row[0] if isinstance(row, tuple) else row["name"] for row in rows}


def apply_pending(
    transaction: Callable[[], AbstractContextManager[Schema]], migrations: Sequence[Migration]
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


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration]) -> list[str]:
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
