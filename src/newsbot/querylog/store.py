"""The query log's SQL, shared by its two backends: SQLite (the default, one file) and PostgreSQL
(for several machines). The statements are written once, with `?` placeholders, in the SQL both
databases speak; a `newsbot.db.Database` only opens connections and transactions.

Reads and deletes take `guild_id`: a guild's moderator passes their guild and never sees another
guild's rows; `None` is the CLI's view of every guild (and the only view of DM / CLI rows).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, Self, overload, runtime_checkable

from newsbot.db import Database, Db, Row, iso
from newsbot.errors import NewsbotError, NotFound
from newsbot.querylog.hydrate import hydrate, votes_of
from newsbot.querylog.records import (
    Flag,
    LoggedQuery,
    LogStats,
    Outcome,
    QueryRecord,
    QuestionGroup,
    Votes,
    group_questions,
    percentile,
)

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 3600.0
# Tables whose files still hold a forgotten user's rows until they are rewritten.
_ERASED = ("queries", "shown", "votes", "flags")


class QueryLogError(NewsbotError):
    """The query log cannot be read or written: locked too long, disk full, not a database."""


@runtime_checkable
class QueryLog(Protocol):
    """What the bot and the CLI need from a query log, on SQLite or PostgreSQL alike."""

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


class SqlQueryLog:
    """The query log's statements, run on `database` (SQLite or PostgreSQL); rows older than
    `retention_days` are pruned (0: kept forever)."""

    _last_prune: float = float("-inf")

    def __init__(self, database: Database, retention_days: int = 0) -> None:
        self.database = database
        try:
            if retention_days < 0:
                raise ValueError("retention_days must not be negative")
            self.retention_days = retention_days
            self.prune()
        except BaseException:
            database.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.database.close()

    # -- writing ---------------------------------------------------------------------------

    def record(self, rec: QueryRecord) -> int:
        """Store one question; return its row id. Durable once this returns."""

        def insert(db: Db) -> int:
            row_id: int = db.execute(
                "INSERT INTO queries (created_at, question, interface, outcome, guild_id,"
                " channel_id, user_id, user_name, filters, latency_ms, index_version, error,"
                " message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    iso(rec.created_at),
                    _text(rec.question),
                    str(rec.interface),
                    str(rec.outcome),
                    rec.guild_id,
                    rec.channel_id,
                    rec.user_id,
                    _text(rec.user_name),
                    _text(json.dumps(dict(rec.filters), sort_keys=True)),
                    float(rec.latency_ms),
                    _text(rec.index_version),
                    _text(rec.error),
                    rec.message_id,
                ),
            ).fetchone()["id"]
            # int() / float(): numpy scalars from the ranker would be stored as blobs.
            db.executemany(
                "INSERT INTO shown (query_id, rank, article_id, passage_id, title, score, second_passage_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        row_id,
                        rank,
                        _text(s.article_id),
                        int(s.passage_id),
                        _text(s.title),
                        float(s.score),
                        None if s.second_passage_id is None else int(s.second_passage_id),
                    )
                    for rank, s in enumerate(rec.shown)
                ],
            )
            return row_id

        row_id = self.database.run(insert, write=True)
        if self.retention_days and time.monotonic() - self._last_prune > PRUNE_EVERY_SECONDS:
            try:
                self.prune()
            except QueryLogError as exc:  # the row is stored; pruning can wait an hour
                log.warning("query log prune failed: %s", exc.message)
        return row_id

    def flag(self, guild_id: int | None, row_id: int, moderator_id: int, reason: str) -> Flag:
        """Mark a row for review; NotFound if the row is not in this guild."""
        flag = Flag(moderator_id, reason, datetime.now(UTC))

        def insert(db: Db) -> Flag:
            self._require(db, guild_id, row_id)
            db.execute(
                "INSERT INTO flags (query_id, moderator_id, reason, created_at) VALUES (?, ?, ?, ?)",
                (row_id, moderator_id, _text(reason), iso(flag.created_at)),
            )
            return flag

        return self.database.run(insert, write=True)

    def vote(self, row_id: int, user_id: int, up: bool) -> Votes:
        """One vote per user per answer: a second vote replaces the first. Returns the totals."""

        def upsert(db: Db) -> Votes:
            self._require(db, None, row_id)
            db.execute(
                "INSERT INTO votes (query_id, user_id, up, voted_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (query_id, user_id) DO UPDATE SET up = excluded.up,"
                " voted_at = excluded.voted_at",
                (row_id, user_id, int(up), iso(datetime.now(UTC))),
            )
            return votes_of(db, [row_id]).get(row_id, Votes())

        return self.database.run(upsert, write=True)

    def forget_user(self, guild_id: int | None, user_id: int) -> int:
        """Delete a user's questions (with their shown passages, votes, flags) and the votes
        they cast, in this guild or everywhere; return how many questions went."""
        scope, params = _scope(guild_id)

        def delete(db: Db) -> int:
            db.execute(
                "DELETE FROM votes WHERE user_id = ? AND query_id IN"
                f" (SELECT id FROM queries q WHERE {scope})",
                (user_id, *params),
            )
            cur = db.execute(f"DELETE FROM queries AS q WHERE q.user_id = ? AND {scope}", (user_id, *params))
            return int(cur.rowcount)

        removed = self.database.run(delete, write=True)
        if removed:
            self.database.erase(_ERASED)
        return removed

    def prune(self, now: datetime | None = None) -> int:
        """Delete rows older than `retention_days` (nothing when it is 0); return how many."""
        self._last_prune = time.monotonic()
        if not self.retention_days:
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.retention_days)

        def delete(db: Db) -> int:
            return int(db.execute("DELETE FROM queries WHERE created_at < ?", (iso(cutoff),)).rowcount)

        return self.database.run(delete, write=True)

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
        return self.database.run(lambda db: hydrate(db, db.execute(sql, (*params, limit, offset))))

    def get(self, guild_id: int | None, row_id: int) -> LoggedQuery:
        """One row; NotFound if it does not exist or belongs to another guild."""

        def read(db: Db) -> LoggedQuery:
            return hydrate(db, [self._require(db, guild_id, row_id)])[0]

        return self.database.run(read)

    def unanswered(self, guild_id: int | None, days: int = 7) -> list[QuestionGroup]:
        """Recent no-match questions grouped by normalised text, most asked first."""
        scope, params = _scope(guild_id, _since(days))
        rows = self.database.run(
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

        def read(db: Db) -> tuple[list[Row], Row, int]:
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
                f"SELECT COUNT(DISTINCT f.query_id) AS n FROM flags f"
                f" JOIN queries q ON q.id = f.query_id WHERE {scope}",
                params,
            ).fetchone()["n"]
            return rows, votes, flagged

        rows, votes, flagged = self.database.run(read)
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
            votes_up=int(votes["up"]),
            votes_down=int(votes["n"] - votes["up"]),
            flagged=flagged,
        )

    def export(self, guild_id: int | None, days: int | None = None) -> list[LoggedQuery]:
        """Every row of the window, oldest first."""
        scope, params = _scope(guild_id, _since(days))
        sql = f"SELECT * FROM queries q WHERE {scope} ORDER BY q.created_at, q.id"
        return self.database.run(lambda db: hydrate(db, db.execute(sql, params)))

    def export_pages(
        self, guild_id: int | None, days: int | None = None, page: int = 500
    ) -> Iterator[list[LoggedQuery]]:
        """`export` a page at a time (each its own short read), so a caller can stop early."""
        scope, params = _scope(guild_id, _since(days))
        sql = (
            f"SELECT * FROM queries q WHERE {scope} AND (q.created_at, q.id) > (?, ?)"
            " ORDER BY q.created_at, q.id LIMIT ?"
        )
        after: tuple[str, int] = ("", 0)
        while True:
            args = (*params, *after, page)
            rows = self.database.run(lambda db, args=args: hydrate(db, db.execute(sql, args)))  # type: ignore[misc]
            if not rows:
                return
            yield rows
            last = rows[-1]
            after = (iso(last.record.created_at), last.id)

    # -- plumbing --------------------------------------------------------------------------

    @staticmethod
    def _require(db: Db, guild_id: int | None, row_id: int) -> Row:
        scope, params = _scope(guild_id)
        row: Row | None = db.execute(
            f"SELECT * FROM queries q WHERE q.id = ? AND {scope}", (row_id, *params)
        ).fetchone()
        if row is None:
            raise NotFound(f"no query log row {row_id}")
        return row


@overload
def _text(value: str) -> str: ...
@overload
def _text(value: str | None) -> str | None: ...
def _text(value: str | None) -> str | None:
    """Text as stored: without NUL characters, which no PostgreSQL text can hold (and which mean
    nothing in a question), so both backends store the same."""
    return value.replace("\x00", "") if value else value


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
        params.append(iso(since))
    return " AND ".join(clauses), params


def _group(rows: Iterable[Row]) -> list[QuestionGroup]:
    return group_questions((r["question"], datetime.fromisoformat(r["created_at"])) for r in rows)
