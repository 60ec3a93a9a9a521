"""Feed state in one SQLite file: the feeds, the items each has carried, the texts written.

Used from one process at a time per call; SQLite's busy timeout covers a CLI and a bot sharing it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from newsbot.db.migrations import migrate
from newsbot.errors import NewsbotError, NotFound
from newsbot.feeds.migrations import MIGRATIONS


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
    """Where the feed state lives, beside the index and the query log."""
    return data_dir / "feeds.sqlite3"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _value(name: str, raw: Any) -> Any:
    if raw is not None and name in _TIMES:
        return datetime.fromisoformat(raw)
    if name in ("enabled", "from_summary"):
        return bool(raw)
    return raw


def _sql(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


class FeedStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._lock = threading.Lock()
        migrate(self._db, MIGRATIONS)

    def close(self) -> None:
        self._db.close()

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

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
        taken = {s for (s,) in self._rows("SELECT slug FROM feeds")}
        unique, n = slug, 2
        while unique in taken:
            unique, n = f"{slug}-{n}", n + 1
        try:
            cur = self._write(
                "INSERT INTO feeds (url, name, slug, owner_guild_id, every_seconds, title, next_poll_at,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (url, name, unique, owner_guild_id, int(every.total_seconds()), title, iso(now), iso(now)),
            )
        except sqlite3.IntegrityError:
            raise FeedExists(f"{url[:200]} is already followed.") from None
        return self.get(int(cur.lastrowid or 0))

    def get(self, feed_id: int) -> FeedRecord:
        rows = self._rows(f"SELECT {', '.join(_FEED_FIELDS)} FROM feeds WHERE id = ?", (feed_id,))
        if not rows:
            raise NotFound(f"No feed #{feed_id}.")
        return FeedRecord(*(_value(n, v) for n, v in zip(_FEED_FIELDS, rows[0], strict=True)))

    def feeds(self, owner_guild_id: int | None = None, *, every_owner: bool = True) -> list[FeedRecord]:
        """All feeds (`every_owner`), or only those of one owner (None: the operator's)."""
        where, args = "", tuple[int | None, ...]()
        if not every_owner:
            where, args = "WHERE owner_guild_id IS ?", (owner_guild_id,)
        rows = self._rows(f"SELECT {', '.join(_FEED_FIELDS)} FROM feeds {where} ORDER BY id", args)
        return [FeedRecord(*(_value(n, v) for n, v in zip(_FEED_FIELDS, r, strict=True))) for r in rows]

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
        try:
            self.update(feed_id, url=url)
        except sqlite3.IntegrityError:
            return False
        return True

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
        return ItemRecord(*(_value(n, v) for n, v in zip(_ITEM_FIELDS, rows[0], strict=True)))

    def put_item(self, item: ItemRecord) -> None:
        marks = ", ".join("?" * len(_ITEM_FIELDS))
        self._write(
            f"INSERT OR REPLACE INTO items ({', '.join(_ITEM_FIELDS)}) VALUES ({marks})",
            tuple(_sql(getattr(item, n)) for n in _ITEM_FIELDS),
        )

    def articles(self, feed_id: int) -> int:
        """Items of the feed whose text is indexed from its own file."""
        rows = self._rows(
            "SELECT COUNT(*) FROM items WHERE feed_id = ? AND path IS NOT NULL AND duplicate_of IS NULL",
            (feed_id,),
        )
        return int(rows[0][0])

    def reported_by(self, path: str) -> list[tuple[str, str | None, str]]:
        """(feed name, url, how) of the copies folded into the article at `path`."""
        rows = self._rows(
            "SELECT feeds.name, items.url, items.how FROM items JOIN feeds ON feeds.id = items.feed_id"
            " WHERE items.duplicate_of = ? ORDER BY items.first_seen",
            (path,),
        )
        return [(str(n), u, str(h)) for n, u, h in rows]

    # Texts (what duplicates are checked against)

    def text_at_url(self, url: str) -> str | None:
        rows = self._rows("SELECT path FROM texts WHERE url = ?", (url,))
        return str(rows[0][0]) if rows else None

    def put_text(
        self,
        path: str,
        url: str | None,
        text_hash: str,
        shingles: np.ndarray,
        now: datetime,
        published: datetime | None = None,
    ) -> None:
        self._write(
            "INSERT OR REPLACE INTO texts (path, url, text_hash, shingles, published, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (path, url, text_hash, shingles.astype("<u8").tobytes(), _sql(published), iso(now)),
        )

    def recent_texts(self, limit: int) -> Iterator[tuple[str, str, np.ndarray, datetime | None]]:
        """(path, text hash, shingles, article date) of the newest `limit` texts, oldest first."""
        rows = self._rows(
            "SELECT path, text_hash, shingles, published FROM"
            " (SELECT * FROM texts ORDER BY created_at DESC, rowid DESC LIMIT ?) ORDER BY created_at, rowid",
            (limit,),
        )
        for path, text_hash, blob, published in rows:
            sets = np.frombuffer(blob, dtype="<u8").astype(np.uint64)
            yield str(path), str(text_hash), sets, _value("published", published)
