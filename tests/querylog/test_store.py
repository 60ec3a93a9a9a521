"""The query log on both backends, SQLite files and a real PostgreSQL server: every method, guild
isolation, concurrency; SQLite's locking and full-disk handling."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import newsbot.querylog.store as store_module
from newsbot.errors import NewsbotError, NotFound
from newsbot.querylog import (
    Outcome,
    QueryLog,
    QueryLogError,
    QueryRecord,
    Shown,
    SqliteQueryLog,
    SqlQueryLog,
    Votes,
    write_csv,
)
from newsbot.querylog.postgres import PostgresQueryLog
from newsbot.records import Answer, Citation, Filters, Hit, Quote, Snippet

GUILD_A, GUILD_B = 111, 222
NOW = datetime.now(UTC)
HOSTILE = (
    "**bold** `code` @everyone @here <@123> [bold red]markup[/] \x1b[31mred\x1b[0m"
    " \x1b]0;title\x07 \x00nul\x07bell\r\n\t \u202eevil \u200b zero 🧨 " + "x" * 10_000
)


def rec(question: str = "Who won the chess title?", **kw: object) -> QueryRecord:
    fields: dict[str, object] = {
        "interface": "slash",
        "outcome": "answered",
        "guild_id": GUILD_A,
        "channel_id": 5,
        "user_id": 42,
        "user_name": "ann",
    }
    fields.update(kw)
    return QueryRecord(question, **fields)  # type: ignore[arg-type]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "log.sqlite3"


Opener = Callable[..., SqlQueryLog]


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, path: Path) -> Opener:
    """Opens the query log on one backend (each test runs on both), with the given options."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        return lambda **kw: PostgresQueryLog(url, **kw)
    return lambda **kw: SqliteQueryLog(path, **kw)


@pytest.fixture
def store(opener: Opener) -> Iterator[SqlQueryLog]:
    with opener() as s:
        yield s


def export_csv(store: SqlQueryLog, guild_id: int | None, days: int | None = None) -> str:
    """The export as the CLI and /logs export write it."""
    out = io.StringIO()
    write_csv(out, store.export(guild_id, days))
    return out.getvalue()


def _count(store: SqlQueryLog, table: str) -> int:
    sql = f"SELECT COUNT(*) AS n FROM {table}"
    return int(store.database.run(lambda db: db.execute(sql).fetchone()["n"]))


def test_is_a_query_log(store: SqlQueryLog) -> None:
    assert isinstance(store, QueryLog)


def test_record_then_get_round_trips_every_field(store: SqlQueryLog) -> None:
    r = rec(
        filters={"source": "cnn.com", "since": "2024-01-01"},
        latency_ms=12.5,
        shown=(Shown("a-1", 3, "Title one", 7.25, 5), Shown("b-2", 0, "Title two", 1.5)),
        index_version="v9",
        message_id=777,
        created_at=NOW - timedelta(hours=1),
    )
    row_id = store.record(r)
    q = store.get(GUILD_A, row_id)
    assert (q.id, q.record, q.votes, q.flags) == (row_id, r, Votes(0, 0), ())


def test_hostile_text_round_trips_exactly(store: SqlQueryLog) -> None:
    hostile = HOSTILE.replace("\x00", "")  # NUL is dropped: see the next test
    r = rec(
        hostile,
        user_name=hostile[:300],
        error=hostile[:50],
        index_version=hostile[:20],
        filters={"source": hostile[:100]},
        shown=(Shown(hostile[:40], 1, hostile, 1.0),),
    )
    row_id = store.record(r)
    assert store.get(None, row_id).record == r
    store.flag(GUILD_A, row_id, 9, hostile)
    assert store.get(None, row_id).flags[0].reason == hostile
    exported = next(csv.DictReader(io.StringIO(export_csv(store, None), newline="")))
    assert exported["question"] == hostile
    assert exported["user_name"] == hostile[:300]


def test_nul_characters_are_dropped_on_every_backend(store: SqlQueryLog) -> None:
    row_id = store.record(rec("who\x00 won?", user_name="a\x00b", shown=(Shown("x\x00", 1, "t\x00", 1.0),)))
    stored = store.get(None, row_id).record
    assert (stored.question, stored.user_name, stored.shown[0].title) == ("who won?", "ab", "t")


def test_from_answer() -> None:
    cite = Citation("art-7", "Rail strike", "Daily Ledger", date(2024, 5, 20), None, None)
    answer = Answer(
        question="rail strike?",
        best_sentence=None,
        matched=True,
        hits=(
            Hit(cite, passage_id=12, position=0, score=4.5, snippet=Snippet("x")),
            Hit(cite, 30, 1, 2.0, Snippet("y"), second=Quote(33, 4, Snippet("z"))),
        ),
        index_version="idx-3",
        took_ms=8.25,
        filters=Filters(since=date(2024, 1, 1), source="Daily Ledger"),
    )
    r = QueryRecord.from_answer(
        answer, interface="mention", guild_id=1, channel_id=2, user_id=3, user_name="bo"
    )
    assert r.outcome == Outcome.ANSWERED
    assert (r.question, r.interface, r.guild_id, r.channel_id, r.user_id, r.user_name) == (
        "rail strike?",
        "mention",
        1,
        2,
        3,
        "bo",
    )
    assert r.shown == (Shown("art-7", 12, "Rail strike", 4.5), Shown("art-7", 30, "Rail strike", 2.0, 33))
    assert r.filters == {"since": "2024-01-01", "source": "Daily Ledger"}
    assert (r.latency_ms, r.index_version) == (8.25, "idx-3")
    unmatched = replace(answer, matched=False, filters=Filters())
    assert QueryRecord.from_answer(unmatched, interface="cli").outcome == "no_match"
    assert QueryRecord.from_answer(unmatched, interface="cli").filters == {}


def test_numpy_scores_are_stored_as_numbers(store: SqlQueryLog) -> None:
    np = pytest.importorskip("numpy")
    row_id = store.record(
        rec(shown=(Shown("a", np.int64(3), "t", np.float32(1.5)),), latency_ms=np.float64(2.5))
    )
    q = store.get(None, row_id)
    assert (q.record.shown, q.record.latency_ms) == ((Shown("a", 3, "t", 1.5),), 2.5)
    assert type(q.record.shown[0].passage_id) is int


def test_unknown_outcome_or_interface_is_refused() -> None:
    with pytest.raises(ValueError, match="outcome"):
        rec(outcome="answerd")
    with pytest.raises(ValueError, match="interface"):
        rec(interface="irc")


def test_recent_newest_first_with_filters_and_paging(store: SqlQueryLog) -> None:
    ids = [
        store.record(
            rec(
                f"q{i}",
                created_at=NOW - timedelta(minutes=10 - i),
                user_id=1 + i % 2,
                channel_id=10 + i % 3,
                outcome="no_match" if i % 4 == 0 else "answered",
            )
        )
        for i in range(10)
    ]
    assert [q.id for q in store.recent(GUILD_A, limit=3)] == ids[::-1][:3]
    assert [q.id for q in store.recent(GUILD_A, limit=3, offset=3)] == ids[::-1][3:6]
    assert {q.record.user_id for q in store.recent(GUILD_A, user_id=2, limit=100)} == {2}
    assert {q.record.channel_id for q in store.recent(GUILD_A, channel_id=11)} == {11}
    assert [q.id for q in store.recent(GUILD_A, outcome=Outcome.NO_MATCH)] == [ids[8], ids[4], ids[0]]
    assert [q.id for q in store.recent(GUILD_A, since=NOW - timedelta(minutes=2))] == [ids[9], ids[8]]


def test_get_unknown_row(store: SqlQueryLog) -> None:
    with pytest.raises(NotFound):
        store.get(None, 12345)


def test_a_guild_never_sees_another_guilds_rows(store: SqlQueryLog) -> None:
    a = store.record(rec("alpha question?", guild_id=GUILD_A, user_id=7, outcome="no_match"))
    b = store.record(rec("beta question?", guild_id=GUILD_B, user_id=7, outcome="no_match"))
    dm = store.record(rec("dm question?", guild_id=None, user_id=7))
    store.vote(b, 8, up=True)
    store.flag(GUILD_B, b, 9, "check")

    assert [q.id for q in store.recent(GUILD_A)] == [a]
    assert [q.id for q in store.recent(GUILD_B)] == [b]
    assert {q.id for q in store.recent(None)} == {a, b, dm}
    for other in (b, dm):
        with pytest.raises(NotFound):
            store.get(GUILD_A, other)
        with pytest.raises(NotFound):
            store.flag(GUILD_A, other, 9, "peek")
    assert [g.example for g in store.unanswered(GUILD_A)] == ["alpha question?"]
    stats_a = store.stats(GUILD_A)
    assert (stats_a.total, stats_a.votes_up, stats_a.flagged) == (1, 0, 0)
    assert store.stats(None).total == 3
    assert [r["id"] for r in csv.DictReader(io.StringIO(export_csv(store, GUILD_A)))] == [str(a)]

    assert store.forget_user(GUILD_A, 7) == 1
    assert {q.id for q in store.recent(None)} == {b, dm}


def test_unanswered_groups_similar_questions(store: SqlQueryLog) -> None:
    for i, text in enumerate(
        [
            "What is the GDP?",
            "what is the gdp",
            "WHAT   is the GDP?!",
            "Who is the mayor?",
            "who is the mayor",
        ]
    ):
        store.record(rec(text, outcome="no_match", created_at=NOW - timedelta(minutes=10 - i)))
    store.record(rec("what is the gdp", outcome="answered"))
    store.record(rec("what is the gdp", outcome="no_match", created_at=NOW - timedelta(days=9)))
    groups = store.unanswered(GUILD_A, days=7)
    assert [(g.key, g.count) for g in groups] == [("what is the gdp", 3), ("who is the mayor", 2)]
    assert groups[0].example == "WHAT   is the GDP?!"
    assert groups[0].last_asked == NOW - timedelta(minutes=8)
    assert store.unanswered(GUILD_A, days=30)[0].count == 4


def test_stats(store: SqlQueryLog) -> None:
    for ms in range(1, 101):
        store.record(
            rec(
                "same question?" if ms % 10 else f"q{ms}",
                latency_ms=float(ms),
                outcome="no_match" if ms > 80 else "answered",
            )
        )
    for outcome in ("refused", "rate_limited", "error"):
        store.record(rec("x", outcome=outcome, latency_ms=9999.0))
    store.record(rec("too old", created_at=NOW - timedelta(days=8)))
    first = store.recent(GUILD_A, limit=1)[0].id
    store.vote(first, 1, up=True)
    store.vote(first, 2, up=False)
    store.vote(first, 3, up=False)
    store.flag(GUILD_A, first, 4, "wrong")
    store.flag(GUILD_A, first, 5, "very wrong")

    s = store.stats(GUILD_A, days=7)
    assert (s.total, s.answered, s.no_match, s.other) == (103, 80, 20, 3)
    assert s.by_outcome == {"answered": 80, "no_match": 20, "refused": 1, "rate_limited": 1, "error": 1}
    assert s.answered_rate == pytest.approx(80 / 103)
    assert (s.latency_p50_ms, s.latency_p95_ms) == (50.0, 95.0)  # searches only
    assert (s.votes_up, s.votes_down, s.flagged) == (1, 2, 1)
    assert (s.top_questions[0].key, s.top_questions[0].count) == ("same question", 90)
    assert store.stats(GUILD_A, days=None).total == 104
    empty = store.stats(GUILD_B)
    assert (empty.total, empty.answered_rate, empty.latency_p50_ms) == (0, 0.0, None)


def test_export_csv_parses(store: SqlQueryLog) -> None:
    first = store.record(
        rec("one?", shown=(Shown("a", 1, "T", 2.0),), message_id=3, created_at=NOW - timedelta(days=3))
    )
    second = store.record(rec("two?", outcome="error", error="E42", guild_id=None))
    store.vote(first, 5, up=True)
    rows = list(csv.DictReader(io.StringIO(export_csv(store, None), newline="")))
    assert [r["id"] for r in rows] == [str(first), str(second)]  # oldest first
    assert rows[0]["shown"] == (
        '[{"article_id": "a", "passage_id": 1, "score": 2.0, "second_passage_id": null, "title": "T"}]'
    )
    assert (rows[0]["votes_up"], rows[0]["message_id"], rows[1]["guild_id"]) == ("1", "3", "")
    assert (rows[1]["outcome"], rows[1]["error"]) == ("error", "E42")
    assert [r["id"] for r in csv.DictReader(io.StringIO(export_csv(store, None, days=1)))] == [str(second)]


def test_one_vote_per_user_per_answer(store: SqlQueryLog) -> None:
    row_id = store.record(rec())
    assert store.vote(row_id, 1, up=True) == Votes(1, 0)
    assert store.vote(row_id, 1, up=True) == Votes(1, 0)
    assert store.vote(row_id, 1, up=False) == Votes(0, 1)
    assert store.vote(row_id, 2, up=True) == Votes(1, 1)
    assert store.get(GUILD_A, row_id).votes == Votes(1, 1)
    with pytest.raises(NotFound):
        store.vote(row_id + 1, 1, up=True)


def test_flag(store: SqlQueryLog) -> None:
    row_id = store.record(rec())
    flag = store.flag(GUILD_A, row_id, 9, "misleading source")
    assert store.get(GUILD_A, row_id).flags == (flag,)
    assert (flag.moderator_id, flag.reason) == (9, "misleading source")


def test_forget_user_deletes_rows_votes_flags_and_shown(store: SqlQueryLog) -> None:
    mine = [store.record(rec(f"q{i}", user_id=7, shown=(Shown("a", i, "t", 1.0),))) for i in range(3)]
    other = store.record(rec("someone else's?", user_id=8))
    store.vote(mine[0], 8, up=True)
    store.flag(GUILD_A, mine[0], 9, "x")
    store.vote(other, 7, up=False)  # a vote the forgotten user cast goes too

    assert store.forget_user(GUILD_A, 7) == 3
    assert [q.id for q in store.recent(None)] == [other]
    assert store.get(GUILD_A, other).votes == Votes(0, 0)
    assert (_count(store, "shown"), _count(store, "votes"), _count(store, "flags")) == (0, 0, 0)
    assert store.forget_user(GUILD_A, 7) == 0


def test_prune_with_injected_now(opener: Opener) -> None:
    with opener(retention_days=30) as store:
        old = store.record(rec("old", created_at=NOW - timedelta(days=40), shown=(Shown("a", 1, "t", 1.0),)))
        mid = store.record(rec("mid", created_at=NOW - timedelta(days=10)))
        store.vote(old, 1, up=True)
        assert store.prune(now=NOW) == 1
        assert [q.id for q in store.recent(None)] == [mid]
        assert store.prune(now=NOW + timedelta(days=25)) == 1
        assert store.recent(None) == []
        assert (_count(store, "shown"), _count(store, "votes")) == (0, 0)


def test_prune_runs_on_open_and_not_when_keeping_forever(opener: Opener) -> None:
    with opener() as forever:
        forever.record(rec("ancient", created_at=NOW - timedelta(days=400)))
        forever.record(rec("fresh"))
        assert forever.prune() == 0
    with opener(retention_days=90) as store:
        assert [q.record.question for q in store.recent(None)] == ["fresh"]


def test_record_prunes_at_most_hourly(opener: Opener, monkeypatch: pytest.MonkeyPatch) -> None:
    with opener(retention_days=30) as store:
        store.record(rec("old", created_at=NOW - timedelta(days=40)))
        assert len(store.recent(None)) == 1  # pruned on open, less than an hour ago
        monkeypatch.setattr(store_module, "PRUNE_EVERY_SECONDS", 0.0)
        store.record(rec("new"))
        assert [q.record.question for q in store.recent(None)] == ["new"]


def test_10000_rows_from_threads_over_two_connections(opener: Opener) -> None:
    with opener() as bot, opener() as cli:

        def write(i: int) -> int:
            return (bot if i % 2 else cli).record(rec(f"question {i}", shown=(Shown("a", i, "t", 1.0),)))

        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(pool.map(write, range(10_000)))
        assert len(set(ids)) == 10_000
        assert bot.stats(None, days=None).total == 10_000
        assert _count(bot, "shown") == 10_000


async def test_10000_rows_from_asyncio_to_thread(store: SqlQueryLog) -> None:
    ids = await asyncio.gather(*(asyncio.to_thread(store.record, rec(f"q{i}")) for i in range(10_000)))
    assert len(set(ids)) == 10_000
    assert store.stats(None, days=None).total == 10_000


def _lock(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")
    return other


def test_locked_database_is_retried_then_reported(path: Path) -> None:
    with SqliteQueryLog(path, busy_timeout=0.02, retries=3, backoff=0.01) as store:
        other = _lock(path)
        try:
            start = time.monotonic()
            with pytest.raises(QueryLogError, match=r"locked.*after 4 attempts") as info:
                store.record(rec())
            assert time.monotonic() - start >= 4 * 0.02 + 0.07  # timeouts plus backoff
            assert isinstance(info.value, NewsbotError)
        finally:
            other.close()
        assert store.record(rec()) > 0  # usable again once the lock is gone


def test_lock_released_during_retries_is_waited_out(path: Path) -> None:
    with SqliteQueryLog(path, busy_timeout=0.02, retries=8, backoff=0.02) as store:
        other = _lock(path)
        threading.Timer(0.3, other.close).start()
        row_id = store.record(rec("patient"))
        assert store.get(None, row_id).record.question == "patient"


def test_full_disk_is_reported(path: Path) -> None:
    store = SqliteQueryLog(path)
    store.record(rec("fits"))
    assert store.database.connection is not None
    # Stand-in for a full disk: SQLite reports SQLITE_FULL once the page cap is reached.
    pages = store.database.connection.execute("PRAGMA page_count").fetchone()[0]
    store.database.connection.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(QueryLogError, match="full"):
        store.record(rec("y" * 100_000))
    assert [q.record.question for q in store.recent(None)] == ["fits"]
    store.close()


def test_closed_store_says_so(opener: Opener) -> None:
    store = opener()
    store.close()
    store.close()
    with pytest.raises(QueryLogError, match="closed"):
        store.record(rec())


def test_not_a_database(path: Path) -> None:
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(QueryLogError):
        SqliteQueryLog(path)
