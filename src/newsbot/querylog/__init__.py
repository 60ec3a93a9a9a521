"""The query log: every question asked, how it was answered, and the feedback it got."""

from newsbot.querylog.migrations import MIGRATIONS, Migration, migrate
from newsbot.querylog.records import (
    Flag,
    Interface,
    LoggedQuery,
    LogStats,
    Outcome,
    QueryRecord,
    QuestionGroup,
    Shown,
    Votes,
    normalize_question,
    write_csv,
)
from newsbot.querylog.sqlite import SqliteQueryLog
from newsbot.querylog.store import QueryLog, QueryLogError, SqlQueryLog
from newsbot.settings import Settings


def open_query_log(settings: Settings) -> SqlQueryLog:
    """The configured query log: PostgreSQL when `NEWSBOT_DATABASE_URL` is set, else the SQLite
    file in the data folder."""
    if settings.database_url:
        from newsbot.querylog.postgres import PostgresQueryLog

        return PostgresQueryLog(settings.database_url, settings.log_retention_days)
    return SqliteQueryLog(settings.querylog_path, settings.log_retention_days)


__all__ = [
    "MIGRATIONS",
    "Flag",
    "Interface",
    "LogStats",
    "LoggedQuery",
    "Migration",
    "Outcome",
    "QueryLog",
    "QueryLogError",
    "QueryRecord",
    "QuestionGroup",
    "Shown",
    "SqlQueryLog",
    "SqliteQueryLog",
    "Votes",
    "migrate",
    "normalize_question",
    "open_query_log",
    "write_csv",
]
