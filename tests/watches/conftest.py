"""Fixtures for watches: a small made-up corpus (written for these tests) indexed for real, and
the watch store on SQLite and on a real PostgreSQL (each test that uses it runs on both)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from newsbot.index.build import build_index
from newsbot.index.store import Index
from newsbot.records import Article
from newsbot.settings import Settings
from newsbot.text.analyzer import default_analyzer
from newsbot.watches import Watches, open_watch_store

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TODAY = NOW.date()

BACKGROUND = [
    (
        "farm-1",
        "Farmers count the cost of a wet winter",
        "Rain flooded fields across the valley. Farmers said the harvest would be late.",
    ),
    (
        "rail-1",
        "Rail strike halts northern trains",
        "Train drivers walked out over pay, halting services across the north.",
    ),
    (
        "chess-1",
        "Teenager wins national chess title",
        "A 15-year-old won the national chess championship after a tense final.",
    ),
    (
        "port-1",
        "Harbour city opens floating solar farm",
        "The harbour city opened a floating solar farm; the mayor said it powers homes.",
    ),
    (
        "bank-1",
        "Central bank holds interest rates",
        "The central bank kept interest rates unchanged, citing slowing inflation.",
    ),
    (
        "vote-1",
        "Council votes on new cycle lanes",
        "The city council voted to build cycle lanes on three main roads.",
    ),
]


def article(
    id: str, title: str, text: str, day: date | None = TODAY, source: str | None = "Daily Ledger"
) -> Article:
    return Article(id=id, title=title, text=text, source=source, date=day, url=f"https://example.org/{id}")


SANCTIONS = article(
    "sanctions-1",
    "New sanctions target Russian banks",
    "The European Union announced sanctions on three Russian banks on Monday.\n\n"
    "Officials said the sanctions freeze the banks' assets abroad and bar them from payment systems.",
)


def write_corpus(root: Path, articles: list[Article]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "id": a.id,
            "title": a.title,
            "text": a.text,
            "source": a.source,
            "url": a.url,
            "date": a.date.isoformat() if a.date else None,
        }
        for a in articles
    ]
    (root / "news.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def background() -> list[Article]:
    return [article(i, t, x, date(2025, 1, 5)) for i, t, x in BACKGROUND]


@pytest.fixture
def index(tmp_path: Path) -> Index:
    """The background plus the sanctions article, indexed (the reindex that brought it in)."""
    root = tmp_path / "corpus"
    write_corpus(root, [*background(), SANCTIONS])
    return build_index(root, default_analyzer())[0]


@pytest.fixture(params=["sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose watch store is an SQLite file, or a fresh PostgreSQL database."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return Settings(data_dir=tmp_path / "data", database_url=url)


@pytest.fixture
def watches(store_settings: Settings) -> Iterator[Watches]:
    w = Watches(open_watch_store(store_settings), default_analyzer())
    yield w
    w.close()


# Other reports about sanctions on Russian banks: each its own story, not a copy of SANCTIONS.
FOLLOW_UPS = [
    "Regulators in Oslo froze accounts of Russian banks under the new sanctions, a ministry said.",
    "Sanctions hit Russian banks hardest in the payments market, traders in Zurich reported today.",
    "Two Russian banks challenged the sanctions in court, arguing the listing breached due process.",
    "Savers queued outside Russian banks after sanctions cut them off from card networks abroad.",
    "Economists expect sanctions on Russian banks to slow trade with neighbouring states this year.",
]


def follow_up(n: int, day: date | None = TODAY) -> Article:
    return article(f"follow-{n}", f"Russian banks and sanctions, report {n}", FOLLOW_UPS[n], day)
