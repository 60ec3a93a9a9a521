"""Records of watches: standing queries, the matches they made, and what a delivery needs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from newsbot.errors import NewsbotError
from newsbot.records import Article


class BadWatch(NewsbotError):
    """A watch cannot be added or changed (no searchable words, unknown mode, bad duration)."""


class Mode(StrEnum):
    """How a watch tells: a post per matching article, or one digest a day."""

    INSTANT = "instant"
    DAILY = "daily"


class Delivery(StrEnum):
    """What to do with a match: post it now, keep it for the digest, or hold it (muted, paused)."""

    NOW = "now"
    DIGEST = "digest"
    HELD = "held"


@dataclass(frozen=True)
class Watch:
    """A standing query. `guild_id` None is the operator's (CLI); the target is `channel_id`, or
    a DM to `user_id` when there is no channel."""

    id: int
    query: str
    mode: Mode
    created_at: datetime
    source: str | None = None  # only articles from this source (case ignored)
    guild_id: int | None = None
    channel_id: int | None = None
    user_id: int | None = None  # who added it; the DM target when channel_id is None
    muted_until: datetime | None = None
    paused: str | None = None  # why deliveries stopped (a closed DM); None: running

    def muted(self, now: datetime) -> bool:
        return self.muted_until is not None and self.muted_until > now

    @property
    def target(self) -> str:
        if self.channel_id is not None:
            return f"channel {self.channel_id}"
        if self.user_id is not None:
            return f"DM to {self.user_id}"
        return "operator"


@dataclass(frozen=True)
class Match:
    """A watch fired for an article: stored once per watch and story."""

    id: int
    watch: Watch
    article: Article  # metadata; `text` may be empty
    strength: float  # normalised BM25 of the best passage, 0..1 (see matcher.py)
    passage: str  # the best passage's text: what a post quotes from
    terms: tuple[str, ...]  # the query's analysed terms, for marking words
    delivery: Delivery
    matched_at: datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """A time with its zone: a naive one is taken as UTC (stored times are all UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_DURATION = re.compile(r"^\s*(\d{1,4})\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h`, `3d` or `1w` (how long a mute lasts), or BadWatch."""
    found = _DURATION.match(text.lower())
    if not found:
        raise BadWatch(f"“{text[:20]}” is not a duration: use e.g. 30m, 2h, 3d or 1w.")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
