"""The query log on PostgreSQL, for bots whose processes do not share one disk.

Set `NEWSBOT_DATABASE_URL=postgresql://user:password@host:5432/db`. The statements are the same as
on SQLite (`store.py`); `newsbot.db.postgres` supplies the pool and the advisory-locked migrations.
Its tables are in the database's default schema, as they have always been.
"""

from __future__ import annotations

from newsbot.db.postgres import PostgresDatabase
from newsbot.querylog.migrations import MIGRATIONS
from newsbot.querylog.store import QueryLogError, SqlQueryLog


class PostgresQueryLog(SqlQueryLog):
    """The query log in a PostgreSQL database, shared by every process that points at it."""

    def __init__(
        self, url: str, retention_days: int = 0, *, pool_size: int = 4, timeout: float = 10.0
    ) -> None:
        database = PostgresDatabase(
            url, MIGRATIONS, what="query log", error=QueryLogError, pool_size=pool_size, timeout=timeout
        )
        super().__init__(database, retention_days)
