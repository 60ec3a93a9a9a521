"""Polling: one feed (conditional GET, parse, ingest, schedule) and the due feeds (`worker.py` loops)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from newsbot.errors import NewsbotError
from newsbot.feeds.fetch import Fetcher, Response
from newsbot.feeds.ingest import NO_CHANGES, Changes, Ingester
from newsbot.feeds.parse import BadFeed, Feed, parse_feed
from newsbot.feeds.schedule import (
    DEFAULT_EVERY,
    Decision,
    Hints,
    after_failure,
    after_success,
    parse_max_age,
    parse_retry_after,
    wants_unconditional,
)
from newsbot.feeds.store import FeedExists, FeedRecord, FeedStore
from newsbot.feeds.urls import check_url, slug

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
LOOP_NAP = timedelta(seconds=60)  # the longest the worker sleeps between two looks at the schedule


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PollReport:
    feed_id: int
    name: str
    result: str  # one line for `feeds status`
    changes: Changes = NO_CHANGES
    not_modified: bool = False
    error: str | None = None
    disabled: bool = False


@dataclass(frozen=True)
class Subscribed:
    feed: FeedRecord
    items: int


async def fetch_feed(fetcher: Fetcher, url: str, headers: dict[str, str] | None = None) -> Response:
    return await fetcher.get(check_url(url), max_bytes=fetcher.limits.feed_bytes, headers=headers)


async def subscribe(
    store: FeedStore,
    fetcher: Fetcher,
    url: str,
    *,
    name: str | None = None,
    every: timedelta = DEFAULT_EVERY,
    owner_guild_id: int | None = None,
    now: datetime | None = None,
) -> Subscribed:
    """Check that `url` is a feed newsbot can fetch and parse, then follow it (first poll: now)."""
    resp = await fetch_feed(fetcher, url)
    if resp.status != 200:
        raise BadFeed(f"The server answered {resp.status}, not a feed.")
    feed = parse_feed(resp.body, resp.headers.get("content-type"))
    title = feed.title or urlsplit(resp.url).hostname or "feed"
    if any(f.url == check_url(url) and f.owner_guild_id == owner_guild_id for f in store.feeds()):
        raise FeedExists(f"{url[:200]} is already followed.")
    record = store.add(
        check_url(url), name or title, slug(name or title), every, now or utcnow(), owner_guild_id, title
    )
    return Subscribed(record, len(feed.items))


async def poll_feed(
    feed: FeedRecord,
    fetcher: Fetcher,
    store: FeedStore,
    ingester: Ingester,
    now: datetime,
    rng: random.Random,
) -> PollReport:
    """Poll one feed and record the outcome and the next poll time; never raises for the feed's faults."""
    unconditional = wants_unconditional(feed.last_unconditional_at, now)
    headers: dict[str, str] = {}
    if not unconditional:
        if feed.etag is not None:
            headers["If-None-Match"] = feed.etag
        if feed.last_modified is not None:
            headers["If-Modified-Since"] = feed.last_modified
    try:
        resp = await fetch_feed(fetcher, feed.url, headers)
    except NewsbotError as exc:
        return _failed(feed, store, now, rng, exc.message, Hints())
    hints = Hints(
        retry_after=parse_retry_after(resp.headers.get("retry-after"), now),
        max_age=parse_max_age(resp.headers.get("cache-control")),
        ttl=timedelta(seconds=feed.ttl_seconds) if feed.ttl_seconds else None,
    )
    if resp.status == 304:
        return _succeeded(feed, store, now, rng, hints, "not modified (304)", not_modified=True)
    if resp.status == 410:
        return _failed(feed, store, now, rng, "gone (410)", hints, gone=True)
    if resp.status != 200:
        return _failed(feed, store, now, rng, f"HTTP {resp.status}", hints)
    validators = {
        "etag": _storable(resp.headers.get("etag")),
        "last_modified": _storable(resp.headers.get("last-modified")),
        "last_unconditional_at": now if unconditional else feed.last_unconditional_at,
    }
    body_hash = hashlib.sha256(resp.body).hexdigest()
    if body_hash == feed.body_hash:
        store.update(feed.id, **validators)
        return _succeeded(feed, store, now, rng, hints, "not modified (same body)", not_modified=True)
    try:
        parsed: Feed = parse_feed(resp.body, resp.headers.get("content-type"))
    except BadFeed as exc:
        return _failed(feed, store, now, rng, exc.message, hints)
    try:
        changes = await ingester.ingest(feed, parsed, fetcher, now)
    except OSError as exc:  # the corpus folder: full disk, permissions
        return _failed(feed, store, now, rng, f"cannot write to the corpus: {exc.strerror or exc}", hints)
    moved = resp.permanent_url if resp.permanent_url and resp.permanent_url != feed.url else None
    ttl = int(parsed.ttl.total_seconds()) if parsed.ttl else None
    store.update(
        feed.id, body_hash=body_hash, title=parsed.title or feed.title, ttl_seconds=ttl, **validators
    )
    if moved is not None:
        store.move(feed.id, moved)  # a 301/308 chain, every hop guarded, ending in a feed
    hints = Hints(hints.retry_after, hints.max_age, parsed.ttl)
    result = (
        f"{len(parsed.items)} items: {len(changes.added)} new, {len(changes.updated)} updated,"
        f" {changes.folded} already reported"
    )
    return _succeeded(feed, store, now, rng, hints, result, changes=changes)


def _storable(value: str | None) -> str | None:
    """A validator kept exactly as sent; one that is not valid text (raw non-UTF-8 bytes) is not
    kept at all, rather than kept altered: the next fetch is then unconditional."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _succeeded(
    feed: FeedRecord,
    store: FeedStore,
    now: datetime,
    rng: random.Random,
    hints: Hints,
    result: str,
    *,
    changes: Changes = NO_CHANGES,
    not_modified: bool = False,
) -> PollReport:
    decision = after_success(now, feed.every, hints, rng)
    store.update(
        feed.id,
        last_poll_at=now,
        last_ok_at=now,
        last_result=result,
        next_poll_at=decision.next_poll,
        errors=0,
        first_error_at=None,
    )
    return PollReport(feed.id, feed.name, result, changes, not_modified)


def _failed(
    feed: FeedRecord,
    store: FeedStore,
    now: datetime,
    rng: random.Random,
    error: str,
    hints: Hints,
    *,
    gone: bool = False,
) -> PollReport:
    errors = feed.errors + 1
    first = feed.first_error_at or now
    decision: Decision = after_failure(now, feed.every, errors, first, hints, rng, gone=gone)
    disabled = decision.next_poll is None
    store.update(
        feed.id,
        last_poll_at=now,
        last_result=f"error: {error}",
        next_poll_at=decision.next_poll or now,
        errors=errors,
        first_error_at=first,
        enabled=not disabled,
        disabled_reason=decision.disabled_reason,
    )
    return PollReport(feed.id, feed.name, f"error: {error}", error=error, disabled=disabled)


async def poll_due(
    store: FeedStore,
    fetcher: Fetcher,
    ingester: Ingester,
    now: datetime,
    rng: random.Random,
    *,
    every_feed: bool = False,
) -> list[PollReport]:
    """Poll the feeds that are due (or every enabled one) together; the fetcher keeps it polite."""
    feeds = [f for f in store.feeds() if f.enabled] if every_feed else store.due(now)
    return list(await asyncio.gather(*(poll_feed(f, fetcher, store, ingester, now, rng) for f in feeds)))
