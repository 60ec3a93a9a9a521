"""Questions the corpus cannot answer, to measure whether the bot says so (`newsbot eval --as-of`).

Two kinds. Real ones: each labelled dev question asked the day before the earliest article
labelled as answering it (strong or weak labels) was published, kept only when none of the
passages the bot then shows holds the answer string (so it really is unanswerable that day) and
when something older is indexed at all. Made-up ones: a handful of questions about things that do
not exist, which nothing in any news corpus answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from newsbot.answers import answer
from newsbot.errors import BadQuestion
from newsbot.index.store import Index
from newsbot.quality.split import is_held_out
from newsbot.records import Answer, Filters
from newsbot.text.analyzer import Analyzer

MADE_UP = (
    "Who is the president of Mars?",
    "Which team won the 2031 Quidditch World Cup?",
    "What did the mayor of Atlantis say about the new dragon tax?",
    "How many moons does the planet Zorblax have?",
    "When will the Eiffel Tower be moved to Tokyo?",
    "Who won the Nobel Prize for time travel?",
    "Which company bought the Moon's largest cheese factory?",
    "Where did the unicorn parade in Narnia take place?",
)


@dataclass(frozen=True)
class Unanswerable:
    """How often the bot says "no match" to questions nothing shown can answer."""

    real: int  # dev questions asked before their news, checked unanswerable
    real_no_match: float | None  # share of them answered "no match"
    made_up: int
    made_up_no_match: float | None
    skipped: int  # labelled questions dropped: a shown passage held the answer, or nothing older
    held: int = 0  # of `real`, the held-out ones (every 5th early question, `quality/split.py`)
    held_no_match: float | None = None


@dataclass(frozen=True)
class Early:
    """A labelled question, asked before its news."""

    question: str
    answer: str
    day: date  # the day before its earliest labelled article


def shown_text(index: Index, answer: Answer) -> str:
    """Every passage an answer shows (a hit's second passage too), each with its article's title:
    where a reader could find the answer."""
    parts = []
    for h in answer.hits:
        parts.append(f"{h.citation.title}\n{index.passage_text(h.passage_id)}")
        if h.second:
            parts.append(index.passage_text(h.second.passage_id))
    return " \n ".join(parts)


def early_questions(index: Index, labelled: Sequence[tuple[str, str, Sequence[str]]]) -> list[Early]:
    """(question, answer, labelled article ids) -> the same questions dated the day before the
    earliest of their articles the index knows a date of."""
    dated = {a.id: a.date for a in index.articles if a.date is not None}
    out = []
    for question, answer_text, ids in labelled:
        days = [dated[i] for i in ids if i in dated]
        if days and answer_text:
            out.append(Early(question, answer_text, min(days) - timedelta(days=1)))
    return out


def measure(
    index: Index,
    analyzer: Analyzer,
    early: Sequence[Early],
    contains: Callable[[str, str], bool],
    k: int = 3,
    made_up: Sequence[str] = MADE_UP,
) -> Unanswerable:
    """Answer the early questions and the made-up ones; `contains(text, answer)` tests answers."""
    kept = skipped = declined = held = held_declined = 0
    for n, q in enumerate(early):
        try:
            got = answer(index, analyzer, q.question, k=k, filters=Filters(until=q.day))
        except BadQuestion:
            skipped += 1
            continue
        if not got.hits or contains(shown_text(index, got), q.answer):
            skipped += 1
            continue
        kept += 1
        declined += not got.matched
        if is_held_out(n):
            held += 1
            held_declined += not got.matched
    invented = [answer(index, analyzer, q, k=k) for q in made_up]
    return Unanswerable(
        real=kept,
        real_no_match=declined / kept if kept else None,
        made_up=len(invented),
        made_up_no_match=sum(not a.matched for a in invented) / len(invented) if invented else None,
        skipped=skipped,
        held=held,
        held_no_match=held_declined / held if held else None,
    )
