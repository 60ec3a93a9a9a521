"""Feed state: the feeds, the items each has carried, the texts written.

In `feeds.sqlite3` in the data folder by default, or in the `feeds` schema of the PostgreSQL
database of `NEWSBOT_DATABASE_URL` (`open_feed_store`); the SQL is the same on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from newsbot.db import Database, Db, Row, iso, open_database
from newsbot.errors import NewsbotError, NotFound
from newsbot.feeds.migrations import MIGRATIONS
from newsbot.settings import Settings

WHAT = "feed store"


class FeedStoreError(NewsbotError):
    """The feed store cannot be read or written."""


class FeedExists(NewsbotError):
    """The same feed URL is already followed (by the same owner)."""


@dataclass(frozen=True)
class FeedRecord:
    id: int
    url: str
    name: str
    slug: str
    owner_guild_id: int | None  # None: the operator's feed, answerable in every guild
    every_seconds: int
    enabled: bool
    disabled_reason: str | None
    title: str
    etag: str | None  # exactly as the server sent it
    last_modified: str | None
    body_hash: str | None
    ttl_seconds: int | None  # the feed's RSS <ttl>, remembered for polls that do not parse it
    last_poll_at: datetime | None
    last_result: str | None
    last_ok_at: datetime | None
    last_unconditional_at: datetime | None
    next_poll_at: datetime
    errors: int
    first_error_at: datetime | None
    created_at: datetime
    noticed_error_at: datetime | None = None  # the failure streak moderators were told about

    def failing_for(self, now: datetime) -> timedelta:
        """How long every poll has failed (zero while the last one succeeded)."""
        return now - self.first_error_at if self.errors and self.first_error_at else timedelta(0)

    @property
    def every(self) -> timedelta:
        return timedelta(seconds=self.every_seconds)


@dataclass(frozen=True)
class ItemRecord:
    feed_id: int
    key: str
    url: str | None
    title: str
    item_hash: str
    path: str | None
    duplicate_of: str | None
    how: str | None
    from_summary: bool
    published: datetime
    first_seen: datetime
    updated_at: datetime


_FEED_FIELDS = [f.name for f in fields(FeedRecord)]
_ITEM_FIELDS = [f.name for f in fields(ItemRecord)]
_TIMES = {"last_poll_at", "last_ok_at", "last_unconditional_at", "next_poll_at", "first_error_at"}
_TIMES |= {"noticed_error_at"}
_TIMES |= {"created_at", "published", "first_seen", "updated_at"}


def store_path(data_dir: Path) -> Path:
    """Where the feed state lives without a database URL, beside the index and the query log."""
    return data_dir / "feeds.sqlite3"


def open_feed_store(settings: Settings) -> FeedStore:
    """The feed store the settings point at: PostgreSQL with a database URL, else the SQLite file."""
    database = open_database(
        settings, store_path(settings.data_dir), MIGRATIONS, what=WHAT, error=FeedStoreError, schema="feeds"
    )
    return FeedStore(database)


def _value(name: str, raw: Any) -> Any:
    if raw is not None and name in _TIMES:
        return datetime.fromisoformat(raw)
    if name in ("enabled", "from_summary"):
        return bool(raw)
    return raw


def _sql(value: Any) -> Any:
    """A value as stored: times as text, booleans as 0/1 (one SQL text for both backends)."""
    if isinstance(value, datetime):
        return iso(value)
    return int(value) if isinstance(value, bool) else value


def _feed(row: Row) -> FeedRecord:
    return FeedRecord(*(_value(n, row[n]) for n in _FEED_FIELDS))


def _owned_by(owner_guild_id: int | None) -> tuple[str, tuple[int, ...]]:
    """The condition (and its parameters) for one owner's feeds; None is the operator."""
    if owner_guild_id is None:
        return "owner_guild_id IS NULL", ()
    return "owner_guild_id = ?", (owner_guild_id,)


class FeedStore:
    """The feed state in `database` (either backend; `open_feed_store` opens the configured one).

    Every method is one transaction; writes take turns, also between processes."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> FeedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Row]:
        return self.database.run(lambda db: db.execute(sql, args).fetchall())

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        self.database.run(lambda db: db.execute(sql, args), write=True)

    # Feeds

    def add(
        self,
        url: str,
        name: str,
        slug: str,
        every: timedelta,
        now: datetime,
        owner_guild_id: int | None = None,
        title: str = "",
    ) -> FeedRecord:
        def insert(db: Db) -> int:
            if _following(db, url, owner_guild_id):
                raise FeedExists(f"{url[:200]} is already followed.")
            taken = {r["slug"] for r in db.execute("SELECT slug FROM feeds").fetchall()}
            unique, n = slug, 2
            while unique in taken:
                unique, n = f"{slug}-{n}", n + 1
            row = db.execute(
                "INSERT INTO feeds (url, name, slug, owner_guild_id, every_seconds, title, next_poll_at,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (url, name, unique, owner_guild_id, int(every.total_seconds()), title, iso(now), iso(now)),
            ).fetchone()
            return int(row["id"])

        return self.get(self.database.run(insert, write=True))

    def get(self, feed_id: int) -> FeedRecord:
        rows = self._rows(f"SELECT {', '.join(_FEED_FIELDS)} FROM feeds WHERE id = ?", (feed_id,))
        if not rows:
            raise NotFound(f"No feed #{feed_id}.")
        return _feed(rows[0])

    def feeds(self, owner_guild_id: int | None = None, *, every_owner: bool = True) -> list[FeedRecord]:
        """All feeds (`every_owner`), or only those of one owner (None: the operator's)."""
        where, args = "1 = 1", tuple[int, ...]()
        if not every_owner:
            where, args = _owned_by(owner_guild_id)
        rows = self._rows(f"SELECT {', '.join(_FEED_FIELDS)} FROM feeds WHERE {where} ORDER BY id", args)
        return [_feed(r) for r in rows]

    def find(
        self, ref: str, owner_guild_id: int | None = None, *, every_owner: bool = True, listed_by: str = ""
    ) -> FeedRecord:
        """A feed by id, name, slug or URL, among all feeds or one owner's (see `feeds`)."""
        for feed in self.feeds(owner_guild_id, every_owner=every_owner):
            if ref in (str(feed.id), feed.name, feed.slug, feed.url):
                return feed
        raise NotFound(f"No feed “{ref[:80]}”; {listed_by or '`newsbot feeds list`'} shows them.")

    def due(self, now: datetime) -> list[FeedRecord]:
        return [f for f in self.feeds() if f.enabled and f.next_poll_at <= now]

    def update(self, feed_id: int, **values: Any) -> None:
        unknown = set(values) - set(_FEED_FIELDS)
        assert not unknown, unknown
        sets = ", ".join(f"{k} = ?" for k in values)
        self._write(f"UPDATE feeds SET {sets} WHERE id = ?", (*map(_sql, values.values()), feed_id))

    def move(self, feed_id: int, url: str) -> bool:
        """Follow a feed at its new URL; False when the same owner already follows that one."""

        def update(db: Db) -> bool:
            row = db.execute("SELECT owner_guild_id FROM feeds WHERE id = ?", (feed_id,)).fetchone()
            if row is None:
                raise NotFound(f"No feed #{feed_id}.")
            if _following(db, url, row["owner_guild_id"], besides=feed_id):
                return False
            db.execute("UPDATE feeds SET url = ? WHERE id = ?", (url, feed_id))
            return True

        return self.database.run(update, write=True)

    def remove(self, feed_id: int) -> FeedRecord:
        feed = self.get(feed_id)
        self._write("DELETE FROM feeds WHERE id = ?", (feed_id,))
        return feed

    # Items

    def item(self, feed_id: int, key: str) -> ItemRecord | None:
        rows = self._rows(
            f"SELECT {', '.join(_ITEM_FIELDS)} FROM items WHERE feed_id = ? AND key = ?", (feed_id, key)
        )
        if not rows:
            return None
        return ItemRecord(*(_value(n, rows[0][n]) for n in _ITEM_FIELDS))

    def put_item(self, item: ItemRecord) -> None:
        marks = ", ".join("?" * len(_ITEM_FIELDS))
        sets = ", ".join(f"{n} = excluded.{n}" for n in _ITEM_FIELDS if n not in ("feed_id", "key"))
        self._write(
            f"INSERT INTO items ({', '.join(_ITEM_FIELDS)}) VALUES ({marks})"
            f" ON CONFLICT (feed_id, key) DO UPDATE SET {sets}",
            tuple(_sql(getattr(item, n)) for n in _ITEM_FIELDS),
        )

    def articles(self, feed_id: int) -> int:
        """Items of the feed whose text is indexed from its own file."""
        rows = self._rows(
            "SELECT COUNT(*) AS n FROM items WHERE feed_id = ? AND path IS NOT NULL AND duplicate_of IS NULL",
            (feed_id,),
        )
        return int(rows[0]["n"])

    def reported_by(self, path: str) -> list[tuple[str, str | None, str]]:
        """(feed name, url, how) of the copies folded into the article at `path`."""
        rows = self._rows(
            "SELECT feeds.name, items.url, items.how FROM items JOIN feeds ON feeds.id = items.feed_id"
            " WHERE items.duplicate_of = ? ORDER BY items.first_seen",
            (path,),
        )
        return [(str(r["name"]), r["url"], str(r["how"])) for r in rows]

    # Texts (what duplicates are checked against)

    def text_at_url(self, url: str) -> str | None:
        rows = self._rows("SELECT path FROM texts WHERE url = ?", (url,))
        return str(rows[0]["path"]) if rows else None

    def put_text(
        self,
        path: str,
        url: str | None,
        text_hash: str,
        shingles: np.ndarray,
        now: datetime,
        published: datetime | None = None,
    ) -> None:
        """Store the text at `path`, replacing the row of that path and any other of that URL."""

        def replace(db: Db) -> None:
            db.execute("DELETE FROM texts WHERE path = ? OR url = ?", (path, url))
            db.execute(
                "INSERT INTO texts (path, url, text_hash, shingles, published, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (path, url, text_hash, shingles.astype("<u8").tobytes(), _sql(published), iso(now)),
            )

        self.database.run(replace, write=True)

    def recent_texts(self, limit: int) -> Iterator[tuple[str, str, np.ndarray, datetime | None]]:
        """(path, text hash, shingles, article date) of the newest `limit` texts, oldest first
        (texts of one moment in path order)."""
        rows = self._rows(
            "SELECT path, text_hash, shingles, published FROM"
            " (SELECT * FROM texts ORDER BY created_at DESC, path DESC LIMIT ?) AS newest"
            " ORDER BY created_at, path",
            (limit,),
        )
        for r in rows:
            sets = np.frombuffer(r["shingles"], dtype="<u8").astype(np.uint64)
            yield str(r["path"]), str(r["text_hash"]), sets, _value("published", r["published"])


def _following(db: Db, url: str, owner_guild_id: int | None, besides: int = 0) -> bool:
    """Whether the owner already follows `url` (in a feed other than `besides`)."""
    owned, args = _owned_by(owner_guild_id)
    found = db.execute(f"SELECT 1 FROM feeds WHERE url = ? AND {owned} AND id != ?", (url, *args, besides))
    return found.fetchone() is not None
