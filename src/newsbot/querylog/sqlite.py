"""The query log in one SQLite file: the default, with nothing to set up."""

from __future__ import annotations

from pathlib import Path

from newsbot.db.sqlite import SqliteDatabase
from newsbot.querylog.migrations import MIGRATIONS
from newsbot.querylog.store import QueryLogError, SqlQueryLog


class SqliteQueryLog(SqlQueryLog):
    """The query log in one SQLite file (WAL), safe to share between threads and processes."""

    database: SqliteDatabase

    def __init__(
        self,
        path: Path,
        retention_days: int = 0,
        *,
        busy_timeout: float = 5.0,
        retries: int = 5,
        backoff: float = 0.05,
    ) -> None:
        self.path = Path(path)
        database = SqliteDatabase(
            self.path,
            MIGRATIONS,
            what="query log",
            error=QueryLogError,
            busy_timeout=busy_timeout,
            retries=retries,
            backoff=backoff,
        )
        super().__init__(database, retention_days)
