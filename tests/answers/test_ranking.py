from datetime import date
from pathlib import Path

import pytest

from newsbot.answers.answer import answer
from newsbot.answers.ranking import RANKING, Ranking, for_question
from newsbot.index.build import build_index
from newsbot.records import Filters
from newsbot.text.analyzer import default_analyzer


@pytest.mark.parametrize(
    "question",
    [
        "Who won the regatta this week?",
        "Which team lost LAST WEEK's final?",
        "What did the mayor say over the past week?",
        "Where was the festival held this weekend?",
    ],
)
def test_a_question_about_this_week_gets_a_stronger_shorter_prior(question: str) -> None:
    assert for_question(question) == Ranking(boost=2 * RANKING.boost, days=14.0)
    assert for_question(question, Ranking(boost=0.2, days=7.0)) == Ranking(boost=0.4, days=7.0)


@pytest.mark.parametrize(
    "question",
    ["Who won the regatta?", "Who won the regatta a week ago?", "What happened on weekdays this year?"],
)
def test_other_questions_keep_the_prior(question: str) -> None:
    assert for_question(question) is RANKING


def test_a_prior_that_is_off_stays_off() -> None:
    off = Ranking(boost=0.0)
    assert for_question("Who won the regatta this week?", off) is off


def _regatta(tmp_path: Path) -> None:
    (tmp_path / "old.md").write_text(
        "---\ntitle: Harbour regatta\ndate: 2022-03-01\n---\n"
        "The harbour regatta was won by Dorn. The regatta crowd cheered the harbour crews.\n"
    )
    (tmp_path / "new.md").write_text(
        "---\ntitle: Regatta results\ndate: 2022-05-01\n---\nKelby won the harbour regatta on Sunday.\n"
    )
    for n, topic in enumerate(["tennis final", "bakery prices", "chess club", "bus timetable"]):
        (tmp_path / f"filler{n}.md").write_text(
            f"---\ntitle: {topic}\n---\nNews about the {topic} this week.\n"
        )


def test_this_week_favours_the_fresh_report(tmp_path: Path) -> None:
    _regatta(tmp_path)
    index = build_index(tmp_path, default_analyzer())[0]
    day = Filters(until=date(2022, 5, 1))
    # the same terms (harbour, regatta, week): only the prior differs
    week = answer(index, default_analyzer(), "Who won the harbour regatta this week?", filters=day)
    plain = answer(index, default_analyzer(), "Who won the harbour regatta in the week?", filters=day)
    assert week.terms == plain.terms
    now = {h.citation.title: h.score for h in week.hits}
    before = {h.citation.title: h.score for h in plain.hits}
    assert now["Regatta results"] == pytest.approx(before["Regatta results"] * 2.0 / 1.5)  # x 2, not x 1.5
    # two months old: its boost all but gone, so it falls further behind the fresh report
    assert (
        now["Harbour regatta"] / now["Regatta results"]
        < before["Harbour regatta"] / before["Regatta results"]
    )
