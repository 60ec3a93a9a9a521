"""A query log that outlives a broken store: rows that cannot be written (a full disk, the database
down) wait in a bounded queue in memory and are written when the store works again.

The bot wraps its log in `BufferedQueryLog` and calls `retry()` every few seconds. While rows wait,
new rows join the queue instead of hitting the broken store once per question. Past `capacity`
the oldest waiting row is dropped and counted, per guild, so `/logs stats` can say how many
questions were never logged. Reads go straight to the store.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from newsbot.querylog.records import Flag, LoggedQuery, LogStats, QueryRecord, QuestionGroup, Votes
from newsbot.querylog.store import QueryLog, QueryLogError

log = logging.getLogger(__name__)
CAPACITY = 10_000  # rows kept in memory: ~10 MB, an hour of a busy bot


class Deferred(QueryLogError):
    """The row is not in the log yet: it waits in memory for the store to work again."""


@dataclass(frozen=True)
class Unwritten:
    """Rows of one guild (or all, for None) not in the log: waiting to be retried, or dropped."""

    waiting: int
    dropped: int


class BufferedQueryLog:
    """`inner` whose `record` keeps what it cannot write; every other call goes to `inner`."""

    def __init__(self, inner: QueryLog, capacity: int = CAPACITY) -> None:
        self.inner = inner
        self.capacity = capacity
        self._waiting: deque[QueryRecord] = deque()
        self._dropped: Counter[int | None] = Counter()
        self._lock = threading.Lock()  # the queue and counters
        self._flushing = threading.Lock()  # one retry at a time, so rows keep their order
        self.problem: str | None = None  # why the store failed, while rows wait
        self.outages = 0  # how many times the store started failing

    def record(self, rec: QueryRecord) -> int:
        """Write one row and return its id; if it cannot be written now, keep it for `retry()`
        and raise `Deferred`."""
        with self._lock:
            if self._waiting:  # the store is known broken: do not wait on it once per question
                self._keep(rec)
                raise Deferred(f"The query log is not writable ({self.problem}); the row waits.")
        try:
            return self.inner.record(rec)
        except Exception as exc:
            with self._lock:
                self._fail(exc)
                self._keep(rec)
            raise Deferred(f"The query log is not writable ({self.problem}); the row waits.") from exc

    def retry(self) -> int:
        """Write the waiting rows, oldest first, until the store fails again; how many were written."""
        written = 0
        with self._flushing:
            while True:
                with self._lock:
                    if not self._waiting:
                        break
                    rec = self._waiting[0]
                try:
                    self.inner.record(rec)
                except Exception as exc:
                    with self._lock:
                        self._fail(exc)
                    break
                with self._lock:
                    if self._waiting and self._waiting[0] is rec:
                        self._waiting.popleft()
                    written += 1
                    if not self._waiting and self.problem is not None:
                        log.warning("The query log works again: %d waiting row(s) written.", written)
                        self.problem = None
        return written

    def unwritten(self, guild_id: int | None = None) -> Unwritten:
        """Rows not in the log: one guild's, or every guild's for None."""
        with self._lock:
            if guild_id is None:
                return Unwritten(len(self._waiting), sum(self._dropped.values()))
            waiting = sum(1 for rec in self._waiting if rec.guild_id == guild_id)
            return Unwritten(waiting, self._dropped[guild_id])

    def _fail(self, exc: Exception) -> None:
        if self.problem is None:
            self.outages += 1
            log.error("The query log cannot be written (%s): keeping rows in memory to retry.", exc)
        self.problem = str(exc) or type(exc).__name__

    def _keep(self, rec: QueryRecord) -> None:
        if len(self._waiting) >= self.capacity:
            lost = self._waiting.popleft()
            self._dropped[lost.guild_id] += 1
            if sum(self._dropped.values()) == 1:
                log.error("The query log's waiting rows are full (%d): dropping the oldest.", self.capacity)
        self._waiting.append(rec)

    # -- everything else is the store's ---------------------------------------------------

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
        return self.inner.recent(
            guild_id,
            user_id=user_id,
            channel_id=channel_id,
            outcome=outcome,
            limit=limit,
            offset=offset,
            since=since,
        )

    def get(self, guild_id: int | None, row_id: int) -> LoggedQuery:
        return self.inner.get(guild_id, row_id)

    def unanswered(self, guild_id: int | None, days: int = 7) -> list[QuestionGroup]:
        return self.inner.unanswered(guild_id, days)

    def stats(self, guild_id: int | None, days: int | None = 7) -> LogStats:
        return self.inner.stats(guild_id, days)

    def export(self, guild_id: int | None, days: int | None = None) -> list[LoggedQuery]:
        return self.inner.export(guild_id, days)

    def export_pages(
        self, guild_id: int | None, days: int | None = None, page: int = 500
    ) -> Iterator[list[LoggedQuery]]:
        return self.inner.export_pages(guild_id, days, page)

    def flag(self, guild_id: int | None, row_id: int, moderator_id: int, reason: str) -> Flag:
        return self.inner.flag(guild_id, row_id, moderator_id, reason)

    def vote(self, row_id: int, user_id: int, up: bool) -> Votes:
        return self.inner.vote(row_id, user_id, up)

    def forget_user(self, guild_id: int | None, user_id: int) -> int:
        """Erase a user's rows, waiting ones included (they would be written back otherwise)."""
        with self._lock:
            self._waiting = deque(
                rec
                for rec in self._waiting
                if not (rec.user_id == user_id and (guild_id is None or rec.guild_id == guild_id))
            )
        return self.inner.forget_user(guild_id, user_id)

    def prune(self, now: datetime | None = None) -> int:
        return self.inner.prune(now)

    def close(self) -> None:
        """Write what waits if the store allows, say what is lost, close the store."""
        self.retry()
        lost = self.unwritten()
        if lost.waiting:
            log.error("%d query-log row(s) could not be written before closing: lost.", lost.waiting)
        self.inner.close()
