"""Where questions are logged: one SQLite file, safe to share between threads and processes.

Reads and deletes take `guild_id`: a guild's moderator passes their guild and never sees another
guild's rows; `None` is the CLI's view of every guild (and the only view of DM / CLI rows).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from newsbot.errors import NewsbotError, NotFound
from newsbot.querylog.migrations import migrate
from newsbot.querylog.records import (
    Flag,
    LoggedQuery,
    LogStats,
    Outcome,
    QueryRecord,
    QuestionGroup,
    Shown,
    Votes,
    group_questions,
    percentile,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

PRUNE_EVERY_SECONDS = 3600.0
_CHUNK = 500  # ids per `IN (...)`, well under SQLite's variable limit
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_FULL = 5, 6, 13


class QueryLogError(NewsbotError):
    """The query log cannot be read or written: locked too long, disk full, not a database."""


@runtime_checkable
class QueryLog(Protocol):
    """What the bot and the CLI need from a query log; a PostgreSQL store could do the same."""

    def record(self, rec: QueryRecord) -> int: ...
    def recent(
        self,
        guild_id: int | None,
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
        outcome: str | None = None,
        limit: int = 20,
        offset: int = 0,
        since: datetime | None = None,
    ) -> list[LoggedQuery]: ...
    def get(self, guild_id: int | None, row_id: int) -> LoggedQuery: ...
    def unanswered(self, guild_id: int | None, days: int = 7) -> list[QuestionGroup]: ...
    def stats(self, guild_id: int | None, days: int | None = 7) -> LogStats: ...
    def export(self, guild_id: int | None, days: int | None = None) -> list[LoggedQuery]: ...
    def export_pages(
        self, guild_id: int | None, days: int | None = None, page: int = 500
    ) -> Iterator[list[LoggedQuery]]: ...
    def flag(self, guild_id: int | None, row_id: int, moderator_id: int, reason: str) -> Flag: ...
    def vote(self, row_id: int, user_id: int, up: bool) -> Votes: ...
    def forget_user(self, guild_id: int | None, user_id: int) -> int: ...
    def prune(self, now: datetime | None = None) -> int: ...
    def close(self) -> None: ...


class SqliteQueryLog:
    """The query log in one SQLite file (WAL), behind one connection and one lock.

    The bot calls it from `asyncio.to_thread`; SQLite serialises writers anyway, so a lock
    around one connection costs nothing and keeps the threading simple. Other processes (the
    CLI) are handled by SQLite's busy timeout, then by our retries with backoff.
    """

    def __init__(
        self,
        path: Path,
        retention_days: int = 0,
        *,
        busy_timeout: float = 5.0,
        retries: int = 5,
        backoff: float = 0.05,
    ) -> None:
        if retention_days < 0:
            raise ValueError("retention_days must not be negative")
        self.path = Path(path)
        self.retention_days = retention_days  # 0: keep forever
        self._retries = retries
        self._backoff = backoff
        self._lock = threading.Lock()
        self._last_prune = float("-inf")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise QueryLogError(f"cannot open the query log {self.path}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        self._conn: sqlite3.Connection | None = conn
        try:
            self._run(self._setup, begin=None)
            self.prune()
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _setup(db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL: a commit is written to the WAL file (so into the OS) before it returns,
        # and only checkpoints fsync. A row therefore survives kill -9 of the process right
        # after record() returns; only a power loss or OS crash can drop the last commits,
        # and never corrupts the file. FULL would add an fsync per question for that case,
        # which a query log does not need.
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        # A deleted row's bytes are overwritten, not left in free pages (see `forget_user`).
        db.execute("PRAGMA secure_delete = ON")
        migrate(db)

    def __enter__(self) -> SqliteQueryLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- writing ---------------------------------------------------------------------------

    def record(self, rec: QueryRecord) -> int:
        """Store one question; return its row id. Durable once this returns."""

        def insert(db: sqlite3.Connection) -> int:
            cur = db.execute(
                "INSERT INTO queries (created_at, question, interface, outcome, guild_id,"
                " channel_id, user_id, user_name, filters, latency_ms, index_version, error,"
                " message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _iso(rec.created_at),
                    rec.question,
                    str(rec.interface),
                    str(rec.outcome),
                    rec.guild_id,
                    rec.channel_id,
                    rec.user_id,
                    rec.user_name,
                    json.dumps(dict(rec.filters), sort_keys=True),
                    float(rec.latency_ms),
                    rec.index_version,
                    rec.error,
                    rec.message_id,
                ),
            )
            row_id = cur.lastrowid
            assert row_id is not None
            # int() / float(): numpy scalars from the ranker would be stored as blobs.
            db.executemany(
                "INSERT INTO shown VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (row_id, rank, s.article_id, int(s.passage_id), s.title, float(s.score))
                    for rank, s in enumerate(rec.shown)
                ],
            )
            return row_id

        row_id = self._run(insert, begin="BEGIN IMMEDIATE")
        if self.retention_days and time.monotonic() - self._last_prune > PRUNE_EVERY_SECONDS:
            try:
                self.prune()
            except QueryLogError as exc:  # the row is stored; pruning can wait an hour
                log.warning("query log prune failed: %s", exc.message)
        return row_id

    def flag(self, guild_id: int | None, row_id: int, moderator_id: int, reason: str) -> Flag:
        """Mark a row for review; NotFound if the row is not in this guild."""
        flag = Flag(moderator_id, reason, datetime.now(UTC))

        def insert(db: sqlite3.Connection) -> Flag:
            self._require(db, guild_id, row_id)
            db.execute(
                "INSERT INTO flags (query_id, moderator_id, reason, created_at) VALUES (?, ?, ?, ?)",
                (row_id, moderator_id, reason, _iso(flag.created_at)),
            )
            return flag

        return self._run(insert, begin="BEGIN IMMEDIATE")

    def vote(self, row_id: int, user_id: int, up: bool) -> Votes:
        """One vote per user per answer: a second vote replaces the first. Returns the totals."""

        def upsert(db: sqlite3.Connection) -> Votes:
            self._require(db, None, row_id)
            db.execute(
                "INSERT INTO votes (query_id, user_id, up, voted_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (query_id, user_id) DO UPDATE SET up = excluded.up,"
                " voted_at = excluded.voted_at",
                (row_id, user_id, int(up), _iso(datetime.now(UTC))),
            )
            return _votes(db, [row_id]).get(row_id, Votes())

        return self._run(upsert, begin="BEGIN IMMEDIATE")

    def forget_user(self, guild_id: int | None, user_id: int) -> int:
        """Delete a user's questions (with their shown passages, votes, flags) and the votes
        they cast, in this guild or everywhere; return how many questions went."""
        scope, params = _scope(guild_id)

        def delete(db: sqlite3.Connection) -> int:
            db.execute(
                "DELETE FROM votes WHERE user_id = ? AND query_id IN"
                f" (SELECT id FROM queries q WHERE {scope})",
                (user_id, *params),
            )
            cur = db.execute(f"DELETE FROM queries AS q WHERE q.user_id = ? AND {scope}", (user_id, *params))
            return cur.rowcount

        deleted = self._run(delete, begin="BEGIN IMMEDIATE")
        self._scrub()
        return deleted

    def _scrub(self) -> None:
        """Leave no copy of deleted text on disk: secure_delete zeroes the freed cells, but older
        copies of their pages stay in the write-ahead log until it is checkpointed and truncated,
        and VACUUM rebuilds the file without free pages."""

        def scrub(db: sqlite3.Connection) -> None:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        self._run(scrub, begin=None)

    def prune(self, now: datetime | None = None) -> int:
        """Delete rows older than `retention_days` (nothing when it is 0); return how many."""
        self._last_prune = time.monotonic()
        if not self.retention_days:
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.retention_days)

        def delete(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM queries WHERE created_at < ?", (_iso(cutoff),)).rowcount

        return self._run(delete, begin="BEGIN IMMEDIATE")

    # -- reading ---------------------------------------------------------------------------

    def recent(
        self,
        guild_id: int | None,
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
        outcome: str | None = None,
        limit: int = 20,
        offset: int = 0,
        since: datetime | None = None,
    ) -> list[LoggedQuery]:
        """The latest rows first, optionally narrowed to a user, channel, outcome or time."""
        scope, params = _scope(guild_id, since)
        for column, value in (("user_id", user_id), ("channel_id", channel_id), ("outcome", outcome)):
            if value is not None:
                scope += f" AND q.{column} = ?"
                params.append(value)
        sql = f"SELECT * FROM queries q WHERE {scope} ORDER BY q.created_at DESC, q.id DESC LIMIT ? OFFSET ?"
        return self._run(lambda db: _hydrate(db, db.execute(sql, (*params, limit, offset))))

    def get(self, guild_id: int | None, row_id: int) -> LoggedQuery:
        """One row; NotFound if it does not exist or belongs to another guild."""

        def read(db: sqlite3.Connection) -> LoggedQuery:
            return _hydrate(db, [self._require(db, guild_id, row_id)])[0]

        return self._run(read)

    def unanswered(self, guild_id: int | None, days: int = 7) -> list[QuestionGroup]:
        """Recent no-match questions grouped by normalised text, most asked first."""
        scope, params = _scope(guild_id, _since(days))
        rows = self._run(
            lambda db: db.execute(
                f"SELECT question, created_at FROM queries q WHERE {scope} AND q.outcome = ?"
                " ORDER BY q.created_at DESC, q.id DESC",
                (*params, Outcome.NO_MATCH.value),
            ).fetchall()
        )
        return _group(rows)

    def stats(self, guild_id: int | None, days: int | None = 7) -> LogStats:
        """Volume, outcomes, latency and feedback over the last `days` (None: all time)."""
        since = _since(days)
        scope, params = _scope(guild_id, since)

        def read(db: sqlite3.Connection) -> tuple[list[sqlite3.Row], sqlite3.Row, int]:
            rows = db.execute(
                f"SELECT question, created_at, outcome, latency_ms FROM queries q"
                f" WHERE {scope} ORDER BY q.created_at DESC, q.id DESC",
                params,
            ).fetchall()
            votes = db.execute(
                f"SELECT COALESCE(SUM(v.up), 0) AS up, COUNT(*) AS n FROM votes v"
                f" JOIN queries q ON q.id = v.query_id WHERE {scope}",
                params,
            ).fetchone()
            flagged = db.execute(
                f"SELECT COUNT(DISTINCT f.query_id) FROM flags f"
                f" JOIN queries q ON q.id = f.query_id WHERE {scope}",
                params,
            ).fetchone()[0]
            return rows, votes, flagged

        rows, votes, flagged = self._run(read)
        by_outcome: dict[str, int] = {}
        for r in rows:
            by_outcome[r["outcome"]] = by_outcome.get(r["outcome"], 0) + 1
        searches = (Outcome.ANSWERED.value, Outcome.NO_MATCH.value)
        latencies = sorted(r["latency_ms"] for r in rows if r["outcome"] in searches)
        return LogStats(
            since=since,
            total=len(rows),
            answered=by_outcome.get(Outcome.ANSWERED, 0),
            no_match=by_outcome.get(Outcome.NO_MATCH, 0),
            by_outcome=by_outcome,
            latency_p50_ms=percentile(latencies, 50),
            latency_p95_ms=percentile(latencies, 95),
            top_questions=tuple(_group(rows)[:10]),
            votes_up=votes["up"],
            votes_down=votes["n"] - votes["up"],
            flagged=flagged,
        )

    def export(self, guild_id: int | None, days: int | None = None) -> list[LoggedQuery]:
        """Every row of the window, oldest first."""
        scope, params = _scope(guild_id, _since(days))
        sql = f"SELECT * FROM queries q WHERE {scope} ORDER BY q.created_at, q.id"
        return self._run(lambda db: _hydrate(db, db.execute(sql, params)))

    def export_pages(
        self, guild_id: int | None, days: int | None = None, page: int = 500
    ) -> Iterator[list[LoggedQuery]]:
        """`export` a page at a time (each its own short read), so a caller can stop early."""
        scope, params = _scope(guild_id, _since(days))
        after: tuple[str, int] = ("", 0)
        while True:
            sql = (
                f"SELECT * FROM queries q WHERE {scope} AND (q.created_at, q.id) > (?, ?)"
                " ORDER BY q.created_at, q.id LIMIT ?"
            )
            args = (*params, *after, page)

            def read(
                db: sqlite3.Connection, sql: str = sql, args: tuple[Any, ...] = args
            ) -> list[LoggedQuery]:
                return _hydrate(db, db.execute(sql, args))

            rows = self._run(read)
            if not rows:
                return
            yield rows
            last = rows[-1]
            after = (_iso(last.record.created_at), last.id)

    # -- plumbing --------------------------------------------------------------------------

    @staticmethod
    def _require(db: sqlite3.Connection, guild_id: int | None, row_id: int) -> sqlite3.Row:
        scope, params = _scope(guild_id)
        row: sqlite3.Row | None = db.execute(
            f"SELECT * FROM queries q WHERE q.id = ? AND {scope}", (row_id, *params)
        ).fetchone()
        if row is None:
            raise NotFound(f"no query log row {row_id}")
        return row

    def _run(self, fn: Callable[[sqlite3.Connection], T], *, begin: str | None = "BEGIN") -> T:
        """Run `fn` in a transaction; retry with backoff while another connection holds the
        lock, then give up with a QueryLogError. Other SQLite errors (a full disk) are
        reported at once."""
        delay, attempt = self._backoff, 0
        while True:
            attempt += 1
            try:
                with self._lock:
                    if self._conn is None:
                        raise QueryLogError(f"the query log {self.path} is closed")
                    return _transaction(self._conn, fn, begin)
            except sqlite3.Error as exc:
                busy = _code(exc) in (_SQLITE_BUSY, _SQLITE_LOCKED)
                if not busy or attempt > self._retries:
                    raise self._error(exc, attempt) from exc
            time.sleep(delay)
            delay *= 2

    def _error(self, exc: sqlite3.Error, attempts: int) -> QueryLogError:
        code = _code(exc)
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return QueryLogError(
                f"the query log {self.path} is locked by another process; gave up after {attempts} attempts"
            )
        if code == _SQLITE_FULL:
            return QueryLogError(f"the disk holding the query log {self.path} is full: {exc}")
        return QueryLogError(f"query log {self.path}: {exc}")


def _transaction(db: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T], begin: str | None) -> T:
    if begin is None:
        return fn(db)
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


def _iso(dt: datetime) -> str:
    """Fixed-width UTC text, so that SQL text comparison is time comparison."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _since(days: int | None) -> datetime | None:
    return None if days is None else datetime.now(UTC) - timedelta(days=days)


def _scope(guild_id: int | None, since: datetime | None = None) -> tuple[str, list[Any]]:
    """The WHERE clause (on alias `q`) that keeps a moderator inside their own guild."""
    clauses, params = ["1 = 1"], list[Any]()
    if guild_id is not None:
        clauses.append("q.guild_id = ?")
        params.append(guild_id)
    if since is not None:
        clauses.append("q.created_at >= ?")
        params.append(_iso(since))
    return " AND ".join(clauses), params


def _group(rows: Iterable[sqlite3.Row]) -> list[QuestionGroup]:
    return group_questions((r["question"], datetime.fromisoformat(r["created_at"])) for r in rows)


def _votes(db: sqlite3.Connection, ids: Sequence[int]) -> dict[int, Votes]:
    marks = ",".join("?" * len(ids))
    return {
        r[0]: Votes(r[1], r[2] - r[1])
        for r in db.execute(
            f"SELECT query_id, SUM(up), COUNT(*) FROM votes WHERE query_id IN ({marks}) GROUP BY query_id",
            ids,
        )
    }


def _hydrate(db: sqlite3.Connection, rows: Iterable[sqlite3.Row]) -> list[LoggedQuery]:
    """Rows of `queries` with their shown passages, votes and flags, in the given order."""
    rows = list(rows)
    shown: dict[int, list[Shown]] = {}
    flags: dict[int, list[Flag]] = {}
    votes: dict[int, Votes] = {}
    for start in range(0, len(rows), _CHUNK):
        ids = [r["id"] for r in rows[start : start + _CHUNK]]
        marks = ",".join("?" * len(ids))
        for s in db.execute(f"SELECT * FROM shown WHERE query_id IN ({marks}) ORDER BY query_id, rank", ids):
            shown.setdefault(s["query_id"], []).append(
                Shown(s["article_id"], s["passage_id"], s["title"], s["score"])
            )
        for f in db.execute(f"SELECT * FROM flags WHERE query_id IN ({marks}) ORDER BY id", ids):
            flags.setdefault(f["query_id"], []).append(
                Flag(f["moderator_id"], f["reason"], datetime.fromisoformat(f["created_at"]))
            )
        votes.update(_votes(db, ids))
    return [
        LoggedQuery(
            id=r["id"],
            record=QueryRecord(
                question=r["question"],
                interface=r["interface"],
                outcome=r["outcome"],
                guild_id=r["guild_id"],
                channel_id=r["channel_id"],
                user_id=r["user_id"],
                user_name=r["user_name"],
                filters=json.loads(r["filters"]),
                shown=tuple(shown.get(r["id"], ())),
                latency_ms=r["latency_ms"],
                index_version=r["index_version"],
                error=r["error"],
                message_id=r["message_id"],
                created_at=datetime.fromisoformat(r["created_at"]),
            ),
            votes=votes.get(r["id"], Votes()),
            flags=tuple(flags.get(r["id"], ())),
        )
        for r in rows
    ]
