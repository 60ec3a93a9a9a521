"""What every store's SQL runs on: a `Database` that hands out one transaction at a time."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, Self, TypeVar

from newsbot.errors import NewsbotError

T = TypeVar("T")
Row = Any  # sqlite3.Row or a psycopg dict row: both are read as row["column"]


def iso(when: datetime) -> str:
    """A time as the stores keep it: fixed-width UTC text with microseconds (naive taken as UTC),
    so that text order is time order, in SQLite and under any PostgreSQL collation."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="microseconds")


class Db(Protocol):
    """A connection inside a transaction, taking `?` placeholders; rows are read by column name."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any: ...


class Database(ABC):
    """One store's database on one backend. A store writes its statements once, in the SQL both
    backends speak (`?` placeholders, `RETURNING id`, `ON CONFLICT`), and runs them through `run`.

    `what` names the store in errors ("query log"), `error` is the store's own `NewsbotError`
    class: every database failure reaches the store's callers as that, with a message fit to show.
    """

    what: str
    where: str  # the file, or host:port/database: never a password
    error: type[NewsbotError]
    migrated: list[str]  # the migrations this open applied (none when the schema was up to date)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def run(self, fn: Callable[[Db], T], *, write: bool = False) -> T:
        """Run `fn` in one transaction and return its result; failures raise `error`.
        `write`: the transaction will write (SQLite takes the write lock up front)."""

    @abstractmethod
    def erase(self, tables: Sequence[str]) -> None:
        """After deleting what must be forgotten: leave no copy of the deleted rows in the files."""

    @abstractmethod
    def close(self) -> None: ...
