"""The databases newsbot's stores live in (the query log, the feed store, the watch store).

By default each store is one SQLite file in the data folder, with nothing to set up. With
`NEWSBOT_DATABASE_URL` every store lives in that PostgreSQL database instead, shared by every
process and machine that points at it. A store writes its SQL once (`?` placeholders, `RETURNING
id`, `ON CONFLICT`, portable types) and `open_database` picks where it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from newsbot.db.base import Database, Db, Row, iso
from newsbot.db.migrations import Migration, Schema, apply_pending, migrate, registry
from newsbot.db.sqlite import SqliteDatabase
from newsbot.errors import NewsbotError
from newsbot.settings import Settings


def open_database(
    settings: Settings,
    path: Path,
    migrations: Sequence[Migration],
    *,
    what: str,
    error: type[NewsbotError],
    schema: str | None,
    exclusive_writes: bool = True,
) -> Database:
    """A store's database as the settings say: PostgreSQL when `database_url` is set (the
    store's tables in `schema`), else the SQLite file at `path`. Its
    migrations are applied before this returns."""
    if settings.database_url:
        from newsbot.db.postgres import PostgresDatabase

        return PostgresDatabase(
            settings.database_url,
            migrations,
            what=what,
            error=error,
            schema=schema,
            exclusive_writes=exclusive_writes,
        )
    return SqliteDatabase(path, migrations, what=what, error=error)


__all__ = [
    "Database",
    "Db",
    "Migration",
    "Row",
    "Schema",
    "SqliteDatabase",
    "apply_pending",
    "iso",
    "migrate",
    "open_database",
    "registry",
]
