import random
from datetime import UTC, datetime, timedelta

import pytest

from newsbot.feeds.schedule import (
    MAX_WAIT,
    MIN_EVERY,
    BadInterval,
    Hints,
    after_failure,
    after_success,
    parse_every,
    parse_max_age,
    parse_retry_after,
    wants_unconditional,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EVERY = timedelta(minutes=30)


def rng() -> random.Random:
    return random.Random(7)


def test_parse_every() -> None:
    assert parse_every("30m") == timedelta(minutes=30)
    assert parse_every("2h") == timedelta(hours=2)
    assert parse_every("1d") == timedelta(days=1)
    assert parse_every("45") == timedelta(minutes=45)
    for bad in ("5m", "soon", "-30m", "599s"):
        with pytest.raises(BadInterval):
            parse_every(bad)


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("120", NOW) == timedelta(seconds=120)
    assert parse_retry_after("Wed, 01 May 2024 13:00:00 GMT", NOW) == timedelta(hours=1)
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", NOW) == timedelta(0)  # in the past
    assert parse_retry_after("whenever", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_max_age() -> None:
    assert parse_max_age("public, max-age=3600") == timedelta(hours=1)
    assert parse_max_age("no-cache") is None


def test_success_uses_the_interval_with_jitter() -> None:
    waits = {after_success(NOW, EVERY, Hints(), random.Random(s)).next_poll - NOW for s in range(20)}
    assert len(waits) > 1  # jitter spreads feeds added together
    assert all(EVERY * 0.9 <= w <= EVERY * 1.1 for w in waits if w is not None)


def test_success_never_sooner_than_minimum_ttl_max_age_or_retry_after() -> None:
    assert after_success(NOW, timedelta(minutes=1), Hints(), rng()).next_poll >= NOW + MIN_EVERY * 0.9
    for hints in (
        Hints(ttl=timedelta(hours=2)),
        Hints(max_age=timedelta(hours=2)),
        Hints(retry_after=timedelta(hours=2)),
    ):
        assert after_success(NOW, EVERY, hints, rng()).next_poll == NOW + timedelta(hours=2)
    assert after_success(NOW, EVERY, Hints(ttl=timedelta(days=9)), rng()).next_poll == NOW + MAX_WAIT


def test_backoff_grows_and_is_capped_at_a_day() -> None:
    waits = [after_failure(NOW, EVERY, n, NOW, Hints(), rng()).next_poll - NOW for n in range(1, 12)]
    assert waits[1] > waits[0] * 1.5 and waits[2] > waits[1] * 1.5
    assert max(waits) == MAX_WAIT
    retry = after_failure(NOW, EVERY, 1, NOW, Hints(retry_after=timedelta(hours=3)), rng())
    assert retry.next_poll == NOW + timedelta(hours=3)


def test_gone_and_a_week_of_failures_disable() -> None:
    gone = after_failure(NOW, EVERY, 1, NOW, Hints(), rng(), gone=True)
    assert gone.next_poll is None and "410" in (gone.disabled_reason or "")
    week = after_failure(NOW, EVERY, 30, NOW - timedelta(days=7), Hints(), rng())
    assert week.next_poll is None and "7 days" in (week.disabled_reason or "")
    almost = after_failure(NOW, EVERY, 30, NOW - timedelta(days=6, hours=23), Hints(), rng())
    assert almost.next_poll is not None


def test_unconditional_every_twelve_hours() -> None:
    assert wants_unconditional(None, NOW)
    assert not wants_unconditional(NOW - timedelta(hours=11), NOW)
    assert wants_unconditional(NOW - timedelta(hours=12), NOW)
