"""The query log: every question asked, how it was answered, and the feedback it got."""

from newsbot.db import open_database
from newsbot.querylog.migrations import MIGRATIONS
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
    database = open_database(
        settings,
        settings.querylog_path,
        MIGRATIONS,
        what="query log",
        error=QueryLogError,
        schema=None,  # the default schema, where it has always been
        exclusive_writes=False,  # rows are independent: many processes may write at once
    )
    return SqlQueryLog(database, settings.log_retention_days)


__all__ = [
    "MIGRATIONS",
    "Flag",
    "Interface",
    "LogStats",
    "LoggedQuery",
    "Outcome",
    "QueryLog",
    "QueryLogError",
    "QueryRecord",
    "QuestionGroup",
    "Shown",
    "SqlQueryLog",
    "SqliteQueryLog",
    "Votes",
    "normalize_question",
    "open_query_log",
    "write_csv",
]
