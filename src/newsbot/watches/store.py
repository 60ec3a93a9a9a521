"""Where watches and their matches are kept: `watches.sqlite3` in the data folder by default, or the
`watches` schema of the PostgreSQL database of `NEWSBOT_DATABASE_URL` (`open_watch_store`); the
SQL is the same on both, and safe to share between threads and processes.

Reads and changes of a watch take `guild_id`: a guild sees and changes only its own watches;
`None` is the operator's view (the CLI) of every watch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from newsbot.db import Database, Db, Row, SqliteDatabase, iso, open_database
from newsbot.errors import NewsbotError, NotFound

# A match's article is stored as the index catalog stores an article (one encoding, not two).
from newsbot.index.catalog import article_from_row, article_line
from newsbot.records import Article
from newsbot.settings import Settings
from newsbot.watches.migrations import MIGRATIONS
from newsbot.watches.records import Delivery, Match, Mode, Watch
from newsbot.watches.stories import NEAR_DUPLICATE, resemblance

T = TypeVar("T")
WHAT = "watches database"
NEAR_DAYS = 7  # how far back a near-duplicate is looked for (copies come within days)
# A watch fired for an article already: the same id (an update) or the same story key (a copy).
_FIRED = "SELECT 1 FROM matches WHERE watch_id = ? AND (article_id = ? OR (story = ? AND story != ''))"


class WatchStoreError(NewsbotError):
    """The watches database cannot be read or written."""


def watches_path(settings: Settings) -> Path:
    """Where the watches live without a database URL."""
    return settings.data_dir / "watches.sqlite3"


def open_watch_store(settings: Settings) -> WatchStore:
    """The watch store the settings point at: PostgreSQL with a database URL, else the SQLite file."""
    database = open_database(
        settings, watches_path(settings), MIGRATIONS, what=WHAT, error=WatchStoreError, schema="watches"
    )
    return WatchStore(database)


class WatchStore:
    """Watches, matches (one per watch and story), and the articles already looked at, on
    `where`: an SQLite file's path, or an open `Database` (either backend). Every method is one
    transaction; writes take turns, also between processes."""

    def __init__(self, where: Path | Database, *, busy_timeout: float = 5.0) -> None:
        if isinstance(where, Database):
            self.database = where
        else:
            self.database = SqliteDatabase(
                where, MIGRATIONS, what=WHAT, error=WatchStoreError, busy_timeout=busy_timeout
            )

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> WatchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, fn: Callable[[Db], T], write: bool = False) -> T:
        return self.database.run(fn, write=write)

    # -- watches ---------------------------------------------------------------------------

    def add(
        self,
        query: str,
        mode: Mode,
        now: datetime,
        *,
        source: str | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
    ) -> Watch:
        def insert(db: Db) -> int:
            row = db.execute(
                "INSERT INTO watches (query, mode, source, guild_id, channel_id, user_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (query, str(mode), source, guild_id, channel_id, user_id, iso(now)),
            ).fetchone()
            return int(row["id"])

        return self.get(None, self._run(insert, write=True))

    def get(self, guild_id: int | None, watch_id: int) -> Watch:
        """The watch, or NotFound when there is none in this guild."""
        row = self._run(lambda db: db.execute("SELECT * FROM watches WHERE id = ?", (watch_id,)).fetchone())
        if row is None or (guild_id is not None and row["guild_id"] != guild_id):
            raise NotFound(f"There is no watch #{watch_id} here.")
        return _watch(row)

    def watches(self, guild_id: int | None = None, user_id: int | None = None) -> list[Watch]:
        """The watches of a guild (None: all), optionally only one user's, oldest first."""
        sql, params = "SELECT * FROM watches WHERE 1 = 1", list[Any]()
        if guild_id is not None:
            sql += " AND guild_id = ?"
            params.append(guild_id)
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        rows = self._run(lambda db: db.execute(sql + " ORDER BY id", params).fetchall())
        return [_watch(r) for r in rows]

    def remove(self, guild_id: int | None, watch_id: int) -> Watch:
        watch = self.get(guild_id, watch_id)
        self._run(lambda db: db.execute("DELETE FROM watches WHERE id = ?", (watch_id,)), write=True)
        return watch

    def mute(self, guild_id: int | None, watch_id: int, until: datetime | None) -> Watch:
        """Hold its matches until `until` (None: unmute)."""
        self.get(guild_id, watch_id)
        value = iso(until) if until else None
        self._run(
            lambda db: db.execute("UPDATE watches SET muted_until = ? WHERE id = ?", (value, watch_id)),
            write=True,
        )
        return self.get(guild_id, watch_id)

    def pause(self, watch_id: int, reason: str, now: datetime) -> Watch:
        self._run(
            lambda db: db.execute(
                "UPDATE watches SET paused = ?, paused_at = ? WHERE id = ?", (reason, iso(now), watch_id)
            ),
            write=True,
        )
        return self.get(None, watch_id)

    def resume(self, guild_id: int | None, watch_id: int) -> Watch:
        self.get(guild_id, watch_id)
        self._run(
            lambda db: db.execute(
                "UPDATE watches SET paused = NULL, paused_at = NULL, muted_until = NULL WHERE id = ?",
                (watch_id,),
            ),
            write=True,
        )
        return self.get(guild_id, watch_id)

    # -- matches ---------------------------------------------------------------------------

    def record(
        self,
        watch: Watch,
        article: Article,
        story: str,
        strength: float,
        passage: str,
        terms: Sequence[str],
        delivery: Delivery,
        now: datetime,
        sketch: Sequence[int] = (),
    ) -> Match | None:
        """Store a match; None (nothing stored) when the watch already fired for this article or
        story: the same id, the same story key, or a text resembling one it fired on in the last
        `NEAR_DAYS` days (by `sketch`). The check and the insert are one transaction."""

        def insert(db: Db) -> int | None:
            if db.execute(_FIRED, (watch.id, article.id, story)).fetchone() is not None:
                return None
            if sketch:
                since = iso(now - timedelta(days=NEAR_DAYS))
                rows = db.execute(
                    "SELECT sketch FROM matches WHERE watch_id = ? AND matched_at >= ? AND sketch != ''",
                    (watch.id, since),
                )
                if any(resemblance(sketch, _unpack(r["sketch"])) >= NEAR_DUPLICATE for r in rows):
                    return None
            row = db.execute(
                "INSERT INTO matches (watch_id, article_id, story, strength, matched_at, delivery,"
                " article, passage, terms, sketch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    watch.id,
                    article.id,
                    story,
                    float(strength),
                    iso(now),
                    str(delivery),
                    article_line(article).decode(),
                    passage,
                    json.dumps(list(terms)),
                    " ".join(f"{h:x}" for h in sketch),
                ),
            ).fetchone()
            return int(row["id"])

        row_id = self._run(insert, write=True)
        if row_id is None:
            return None
        bare = article_from_row(json.loads(article_line(article)))  # as stored: without its text
        return Match(row_id, watch, bare, float(strength), passage, tuple(terms), delivery, now)

    def fired(self, watch_id: int, article_id: str, story: str) -> bool:
        """Whether the watch already has a match for this article or story."""
        row = self._run(
            lambda db: db.execute(
                _FIRED,
                (watch_id, article_id, story),
            ).fetchone()
        )
        return row is not None

    def posted_since(self, watch_id: int, since: datetime) -> int:
        """Instant posts the watch made (or is making) since `since`: what the hourly cap counts."""
        row = self._run(
            lambda db: db.execute(
                "SELECT count(*) AS n FROM matches WHERE watch_id = ? AND delivery = ? AND matched_at >= ?",
                (watch_id, str(Delivery.NOW), iso(since)),
            ).fetchone()
        )
        return int(row["n"])

    def get_match(self, match_id: int) -> Match:
        rows = self._matches("m.id = ?", [match_id])
        if not rows:
            raise NotFound(f"There is no match #{match_id}.")
        return rows[0]

    def pending(self, delivery: Delivery, watch_ids: Iterable[int] | None = None) -> list[Match]:
        """Matches of this kind not yet delivered (nor failed), oldest first."""
        where = "m.delivery = ? AND m.delivered_at IS NULL AND m.failed IS NULL"
        params: list[Any] = [str(delivery)]
        if watch_ids is not None:
            ids = list(watch_ids)
            where += f" AND m.watch_id IN ({','.join('?' * len(ids))})"
            params.extend(ids)
        return self._matches(where, params)

    def recent(self, watch_id: int, limit: int = 10) -> list[Match]:
        return self._matches("m.watch_id = ?", [watch_id], order="m.id DESC", limit=limit)

    def _matches(
        self, where: str, params: list[Any], order: str = "m.id", limit: int | None = None
    ) -> list[Match]:
        sql = (
            "SELECT m.id AS match_id, m.strength, m.matched_at, m.delivery, m.article, m.passage, m.terms,"
            f" w.* FROM matches m JOIN watches w ON w.id = m.watch_id WHERE {where} ORDER BY {order}"
        )
        if limit is not None:
            sql, params = sql + " LIMIT ?", [*params, limit]
        rows = self._run(lambda db: db.execute(sql, params).fetchall())
        return [
            Match(
                id=r["match_id"],
                watch=_watch(r),
                article=article_from_row(json.loads(r["article"])),
                strength=r["strength"],
                passage=r["passage"],
                terms=tuple(json.loads(r["terms"])),
                delivery=Delivery(r["delivery"]),
                matched_at=datetime.fromisoformat(r["matched_at"]),
            )
            for r in rows
        ]

    def mark_delivered(self, match_ids: Iterable[int], now: datetime) -> None:
        ids = [(iso(now), i) for i in match_ids]
        self._run(
            lambda db: db.executemany("UPDATE matches SET delivered_at = ? WHERE id = ?", ids), write=True
        )

    def mark_failed(self, match_id: int, reason: str) -> None:
        self._run(
            lambda db: db.execute("UPDATE matches SET failed = ? WHERE id = ?", (reason, match_id)),
            write=True,
        )

    # -- articles looked at ----------------------------------------------------------------

    def seen(self) -> dict[str, str]:
        """article id -> content hash of every article `check` has looked at."""
        rows = self._run(lambda db: db.execute("SELECT article_id, content_hash FROM seen").fetchall())
        return {r["article_id"]: r["content_hash"] for r in rows}

    def remember(self, articles: Iterable[tuple[str, str]], now: datetime) -> None:
        rows = [(i, h, iso(now)) for i, h in articles]
        self._run(
            lambda db: db.executemany(
                "INSERT INTO seen (article_id, content_hash, seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT (article_id) DO UPDATE SET content_hash = excluded.content_hash,"
                " seen_at = excluded.seen_at",
                rows,
            ),
            write=True,
        )


def _unpack(text: str) -> tuple[int, ...]:
    return tuple(int(h, 16) for h in text.split())


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _watch(row: Row) -> Watch:
    created = _time(row["created_at"])
    assert created is not None
    return Watch(
        id=row["id"],
        query=row["query"],
        mode=Mode(row["mode"]),
        created_at=created,
        source=row["source"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        user_id=row["user_id"],
        muted_until=_time(row["muted_until"]),
        paused=row["paused"],
    )
