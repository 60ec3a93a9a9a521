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
from newsbot.querylog.store import QueryLog, QueryLogError, SqliteQueryLog

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
    "SqliteQueryLog",
    "Votes",
    "migrate",
    "normalize_question",
    "write_csv",
]
