"""When to poll a feed next: its interval, what the server asked for, and backoff after errors."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from newsbot.errors import NewsbotError

DEFAULT_EVERY = timedelta(minutes=30)
MIN_EVERY = timedelta(minutes=10)
MAX_WAIT = timedelta(hours=24)  # no rule (ttl, Retry-After, backoff) waits longer than this
UNCONDITIONAL_EVERY = timedelta(hours=12)  # a full fetch now and then, in case a validator lies
DISABLE_AFTER = timedelta(days=7)  # of nothing but failures
JITTER = 0.1  # ± this fraction of the wait, so feeds added together drift apart


class BadInterval(NewsbotError):
    """An interval like `30m` that cannot be read."""


@dataclass(frozen=True)
class Hints:
    """What the server said about when to come back."""

    retry_after: timedelta | None = None
    max_age: timedelta | None = None
    ttl: timedelta | None = None


@dataclass(frozen=True)
class Decision:
    next_poll: datetime | None  # None: the feed is disabled
    disabled_reason: str | None = None


def parse_every(text: str) -> timedelta:
    """`30m`, `2h`, `1d`, `90s` or plain minutes; at least MIN_EVERY."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise BadInterval(f"“{text[:40]}” is not an interval; write e.g. 30m, 2h or 1d.")
    unit = {"s": "seconds", "m": "minutes", "": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    every = timedelta(**{unit: float(match.group(1))})
    if every < MIN_EVERY:
        raise BadInterval(f"Feeds are polled at most every {int(MIN_EVERY.total_seconds() // 60)} minutes.")
    return every


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))


def parse_max_age(cache_control: str | None) -> timedelta | None:
    match = re.search(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", cache_control or "", re.I)
    return timedelta(seconds=int(match.group(1))) if match else None


def _jittered(wait: timedelta, rng: random.Random) -> timedelta:
    return wait * (1 + rng.uniform(-JITTER, JITTER))


def after_success(now: datetime, every: timedelta, hints: Hints, rng: random.Random) -> Decision:
    """A good poll: the feed's interval, never sooner than ttl, max-age or Retry-After ask."""
    wait = max(every, MIN_EVERY)
    wait = _jittered(wait, rng)
    for floor in (hints.ttl, hints.max_age, hints.retry_after):
        if floor is not None:
            wait = max(wait, floor)
    return Decision(now + min(wait, MAX_WAIT))


def after_failure(
    now: datetime,
    every: timedelta,
    errors: int,
    first_error: datetime,
    hints: Hints,
    rng: random.Random,
    *,
    gone: bool = False,
) -> Decision:
    """A failed poll (`errors` in a row, counting this one): exponential backoff capped at a day;
    410 Gone, or a week of nothing but failures, disables the feed."""
    if gone:
        return Decision(None, "the server says the feed is gone (410)")
    if now - first_error >= DISABLE_AFTER:
        return Decision(None, f"every poll failed for {DISABLE_AFTER.days} days")
    wait = _jittered(max(every, MIN_EVERY) * 2 ** min(max(errors - 1, 0), 16), rng)
    if hints.retry_after is not None:
        wait = max(wait, hints.retry_after)
    return Decision(now + min(wait, MAX_WAIT))


def wants_unconditional(last_unconditional: datetime | None, now: datetime) -> bool:
    return last_unconditional is None or now - last_unconditional >= UNCONDITIONAL_EVERY
