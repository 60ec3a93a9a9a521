"""A store in one SQLite file: the default, with nothing to set up.

Safe to share between threads (one connection behind a lock) and processes (SQLite's busy
timeout, then our retries with backoff).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from newsbot.db.base import Database, Db
from newsbot.db.migrations import Migration, migrate
from newsbot.errors import NewsbotError

T = TypeVar("T")
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_FULL = 5, 6, 13


class SqliteDatabase(Database):
    """One SQLite file (WAL), behind one connection and one lock, its migrations applied on open.

    The bot calls it from `asyncio.to_thread`; SQLite serialises writers anyway, so a lock
    around one connection costs nothing and keeps the threading simple. Other processes (the
    CLI) are handled by SQLite's busy timeout, then by our retries with backoff.
    """

    def __init__(
        self,
        path: Path,
        migrations: Sequence[Migration],
        *,
        what: str,
        error: type[NewsbotError],
        busy_timeout: float = 5.0,
        retries: int = 5,
        backoff: float = 0.05,
    ) -> None:
        self.path = Path(path)
        self.what, self.where, self.error = what, str(self.path), error
        self._retries = retries
        self._backoff = backoff
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise error(f"cannot open the {what} {self.path}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        self.connection: sqlite3.Connection | None = conn  # None once closed
        try:
            self.migrated = self._retrying(lambda db: _setup(db, migrations))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        with self._lock:
            if self.connection is not None:
                self.connection.close()
                self.connection = None

    def run(self, fn: Callable[[Db], T], *, write: bool = False) -> T:
        # A writer takes the write lock at BEGIN, so it never fails half-way on a busy database.
        return self._retrying(lambda db: _transaction(db, fn, "BEGIN IMMEDIATE" if write else "BEGIN"))

    def erase(self, tables: Sequence[str]) -> None:
        """Deleted rows leave copies in the WAL file and in free pages: overwrite both (every
        table's: VACUUM rewrites the whole file)."""

        def erase(db: sqlite3.Connection) -> None:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        self._retrying(erase)

    def _retrying(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` on the connection; retry with backoff while another connection holds the
        lock, then give up with the store's error. Other SQLite errors (a full disk) are
        reported at once."""
        delay, attempt = self._backoff, 0
        while True:
            attempt += 1
            try:
                with self._lock:
                    if self.connection is None:
                        raise self.error(f"the {self.what} {self.path} is closed")
                    return fn(self.connection)
            except sqlite3.Error as exc:
                busy = _code(exc) in (_SQLITE_BUSY, _SQLITE_LOCKED)
                if not busy or attempt > self._retries:
                    raise self._error(exc, attempt) from exc
            time.sleep(delay)
            delay *= 2

    def _error(self, exc: sqlite3.Error, attempts: int) -> NewsbotError:
        code = _code(exc)
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return self.error(
                f"the {self.what} {self.path} is locked by another process; gave up after {attempts} attempts"
            )
        if code == _SQLITE_FULL:
            return self.error(f"the disk holding the {self.what} {self.path} is full: {exc}")
        return self.error(f"{self.what} {self.path}: {exc}")


def _setup(db: sqlite3.Connection, migrations: Sequence[Migration]) -> list[str]:
    db.execute("PRAGMA journal_mode = WAL")
    # WAL + NORMAL: a commit is written to the WAL file (so into the OS) before it returns,
    # and only checkpoints fsync. A row therefore survives kill -9 of the process right
    # after a write returns; only a power loss or OS crash can drop the last commits,
    # and never corrupts the file. FULL would add an fsync per write, which no store needs.
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    # Deleted content is overwritten with zeros, so a forgotten question leaves no bytes.
    db.execute("PRAGMA secure_delete = ON")
    return migrate(db, migrations)


def _transaction(db: sqlite3.Connection, fn: Callable[[Db], T], begin: str) -> T:
    db.execute(begin)
    try:
        result = fn(db)
        db.execute("COMMIT")
        return result
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _code(exc: sqlite3.Error) -> int:
    return (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
