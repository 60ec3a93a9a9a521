"""The watches replay and bench: on small files written here, and on the real news when present."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from newsbot.index.build import build_index
from newsbot.quality.watches import RunningStatistics, bench, replay
from newsbot.text.analyzer import default_analyzer
from newsbot.watches.matcher import ArticleTerms, IndexStatistics
from tests.conftest import shared

FILLER = [
    ("Council votes on cycle lanes", "The council voted to build cycle lanes on three roads."),
    ("Harbour opens solar farm", "A floating solar farm opened in the harbour city."),
    ("Rail strike halts trains", "Train drivers walked out over pay across the north."),
    ("Teenager wins chess title", "A teenager won the national chess championship."),
]


def _write(tmp_path: Path) -> tuple[Path, Path]:
    """Made-up news over January 2022: filler every day, the eclipse story on the 12th, a watch
    question about it dated the 14th, and another about a story that never comes."""
    rows = []
    for day in range(1, 20):
        for n, (title, text) in enumerate(FILLER):
            rows.append({"id": f"f{day}-{n}", "title": title, "text": text, "date": f"2022-01-{day:02d}"})
    rows.append(
        {
            "id": "eclipse",
            "title": "Lunar eclipse turns the moon red over Lisbon",
            "text": "Crowds in Lisbon watched a total lunar eclipse turn the moon red on Wednesday night.",
            "date": "2022-01-12",
        }
    )
    questions = [
        {
            "id": "q1",
            "question": "Which city watched a lunar eclipse turn the moon red?",
            "answer": "Lisbon",
            "question_date": "2022-01-14",
            "relevant_doc_ids": ["eclipse"],
            "answer_in_retrieved_doc_ids": [],
        },
        {
            "id": "q2",
            "question": "Which volcano erupted near Reykjavik?",
            "answer": "Fagradalsfjall",
            "question_date": "2022-01-15",
            "relevant_doc_ids": ["f2-0"],
            "answer_in_retrieved_doc_ids": [],
        },
    ]  # q2's label is dated outside its week: out of reach, it does not count
    articles, qs = tmp_path / "articles.jsonl", tmp_path / "questions.jsonl"
    articles.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    qs.write_text("\n".join(json.dumps(q) for q in questions) + "\n")
    return qs, articles


def test_replay_fires_the_labelled_article_in_its_week(tmp_path: Path) -> None:
    questions, articles = _write(tmp_path)
    report = replay(questions, articles, default_analyzer(), since=date(2022, 1, 1), until=date(2022, 1, 31))
    assert report.watches == 1 and report.pairs_in_reach == 1
    assert report.shipped.fired == 1 and report.shipped.recall == 1.0 and report.shipped.precision == 1.0
    assert report.articles_fed == 19 * 4 + 1
    assert all(row.fired >= report.shipped.fired for row in report.sweep if row.threshold <= report.threshold)
    assert report.drift_strength <= report.drift_raw


def test_running_statistics_are_the_index_statistics(tmp_path: Path) -> None:
    _, articles = _write(tmp_path)
    index, _ = build_index(articles, default_analyzer())
    running = RunningStatistics(index.params)
    for article in [a for a in index.articles]:
        number = [x.id for x in index.articles].index(article.id)
        running.add(ArticleTerms.from_index(index, number, default_analyzer()))
    live = IndexStatistics(index)
    assert running.avgdl == pytest.approx(live.avgdl)
    for term in ["eclipse", "lisbon", "council", "vote", "chess", "nowhere"]:
        assert running.idf(term) == pytest.approx(live.idf(term)), term


def test_bench_times_many_watches(tmp_path: Path) -> None:
    questions, articles = _write(tmp_path)
    report = bench(questions, articles, default_analyzer(), watches=2, articles=10)
    assert report.watches == 2 and report.articles == 10
    assert report.match_ms >= 0 and report.analyse_ms >= 0


def test_replay_on_real_news_finds_most_labelled_articles() -> None:
    """A month of 2022 with 30 days of news before it (the full replay is in docs/quality.md)."""
    questions = shared("realtimeqa/questions_dev.jsonl.gz")
    articles = shared("realtimeqa/articles.jsonl.gz")
    report = replay(
        questions,
        articles,
        default_analyzer(),
        since=date(2022, 7, 1),
        until=date(2022, 7, 31),
        history=timedelta(days=30),
    )
    assert report.watches >= 15 and report.pairs_in_reach >= 15
    assert report.shipped.recall >= 0.5
    assert report.shipped.per_watch_day < 2
