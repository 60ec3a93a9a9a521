"""Time in the question: its dates set the earliest news searched, counted from the asking day."""

from datetime import date
from pathlib import Path

import pytest

from newsbot.answers import answer
from newsbot.answers.when import period_in, search_filters
from newsbot.index.build import build_index
from newsbot.records import Filters
from newsbot.text.analyzer import default_analyzer

TODAY = date(2023, 6, 14)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "since", "label"),
    [
        ("What happened yesterday in Paris?", date(2023, 6, 13), "news since yesterday"),
        ("Who won the vote last week?", date(2023, 6, 7), "news from the past week"),
        ("Which team leads this year?", date(2023, 1, 1), "news from this year"),
        ("Who won the cup last year?", date(2022, 1, 1), "news since last year"),
        ("What did the council decide in March 2021?", date(2021, 3, 1), "news since March 2021"),
        ("What did the council decide in September?", date(2022, 9, 1), "news since September 2022"),
        ("Who was elected in 2022?", date(2022, 1, 1), "news since 2022"),
    ],
)
def test_periods(question: str, since: date, label: str) -> None:
    period = period_in(question, TODAY)
    assert period is not None and (period.since, period.label) == (since, label)


@pytest.mark.parametrize(
    "question",
    [
        "Who will host the cup in 2026?",  # not begun: an event, not the news wanted
        "Who won the 2020 election?",  # a bare year names the event
        "Which storm hit this week?",  # the recency prior handles "this week"
        "How many people lost 2,022 dollars?",
        "May the council raise taxes?",
    ],
)
def test_no_period(question: str) -> None:
    assert period_in(question, TODAY) is None


def test_question_dates_only_narrow_the_users_own() -> None:
    user = Filters(since=date(2022, 6, 1), until=date(2023, 1, 31), source="Wire")
    searched, period = search_filters("Who won in 2023?", user, TODAY)
    assert searched == Filters(since=date(2023, 1, 1), until=date(2023, 1, 31), source="Wire")
    assert period is not None
    outside = Filters(until=date(2021, 12, 31))
    assert search_filters("Who won in 2023?", outside, TODAY) == (outside, None)  # the user's win


def test_answer_says_which_news_it_searched(tmp_path: Path) -> None:
    old = "---\ntitle: Kelby cup final\ndate: 2020-05-02\n---\nKelby won the Kelby cup final again.\n"
    (tmp_path / "a.md").write_text(old)
    (tmp_path / "b.md").write_text("---\ntitle: Cup final\ndate: 2022-05-01\n---\nDorn won the Kelby cup.\n")
    (tmp_path / "c.md").write_text("---\ntitle: Weather\ndate: 2022-05-03\n---\nRain all day in Dorn.\n")
    index = build_index(tmp_path, default_analyzer())[0]
    plain = answer(index, default_analyzer(), "Who won the Kelby cup final?", as_of=TODAY)
    assert plain.period is None and plain.hits[0].citation.date == date(2020, 5, 2)
    got = answer(index, default_analyzer(), "Who won the Kelby cup final in 2022?", as_of=TODAY)
    assert got.period == "news since 2022" and got.hits[0].citation.date == date(2022, 5, 1)
    assert all(h.citation.date and h.citation.date.year >= 2022 for h in got.hits)
