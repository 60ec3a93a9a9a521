"""Ranking: BM25 (rank-bm25's BM25Okapi scores) times a recency prior, and how much of a question
a passage covers.

News questions are about recent news, so a passage's score is multiplied by
`1 + boost * exp(-age / days)`, its article's age counted in days before the "as of" date (today in
the bot; the question's date in `newsbot eval --as-of`). Measured on news-quiz questions in
docs/quality.md.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

import numpy as np

from newsbot.index.bm25 import FloatArray
from newsbot.index.store import Index
from newsbot.records import Filters


@dataclass(frozen=True)
class Ranking:
    """The recency prior: BM25 score x (1 + boost * exp(-age in days / days)).

    A passage from the "as of" day counts 1.5 times, one a month older about 1.18 times, an old,
    undated or later-dated one once. A multiplicative prior never turns a non-match into a match,
    keeps BM25's order among articles of the same day, and is off when `boost` is 0.
    """

    boost: float = 0.5
    days: float = 30.0


RANKING = Ranking()
# A question about this (or last) week's news favours the last fortnight more: the prior's boost
# doubles and it decays over at most 14 days (measured in docs/quality.md, third round).
WEEK_BOOST = 2.0
WEEK_DAYS = 14.0
_WEEK = re.compile(r"\b(?:this|last|past) week\b|\bthis weekend\b", re.IGNORECASE)
# How many of each the index keeps (`Index.memo`): as-of days (one per question in an eval), priors.
_KEEP_DAYS = 4096
_KEEP_PRIORS = 8


def for_question(question: str, ranking: Ranking = RANKING) -> Ranking:
    """The prior for `question`: stronger and shorter when it asks about this or last week; a
    prior that is off stays off."""
    if ranking.boost <= 0 or not _WEEK.search(question):
        return ranking
    return Ranking(boost=ranking.boost * WEEK_BOOST, days=min(ranking.days, WEEK_DAYS))


def reference_day(index: Index, as_of: date | None = None) -> int | None:
    """The day (ordinal) recency is counted from: `as_of` (default today), or the newest article
    dated on or before it when the corpus stops earlier; None when no article has such a date."""
    limit = (as_of or date.today()).toordinal()
    return index.memo.get("reference_day", limit, lambda: _newest(index, limit), _KEEP_DAYS) or None


def _newest(index: Index, limit: int) -> int:
    """The newest passage day on or before the day `limit`, 0 when none."""
    days = np.asarray(index.passage_day)
    dated = days[(days > 0) & (days <= limit)]
    return int(dated.max()) if len(dated) else 0


def rank(
    index: Index,
    term_ids: list[int],
    k: int,
    filters: Filters = Filters(),
    per_article: int = 1,
    reference: int | None = None,
    ranking: Ranking = RANKING,
) -> list[tuple[int, float]]:
    """The best (passage, score) pairs, best first, at most `per_article` per article: BM25 times
    the recency prior counted from the day `reference` (none when None)."""
    if reference is None or ranking.boost <= 0:
        return index.search(term_ids, k, filters, per_article)
    return index.search(term_ids, k, filters, per_article, factor=prior(index, reference, ranking))


def prior(index: Index, reference: int, ranking: Ranking = RANKING) -> FloatArray:
    """Each passage's recency prior as of the day `reference`, kept with the index per day: a bot
    asks with the same day all day long."""
    return index.memo.get(
        "prior", (reference, ranking), lambda: _prior(index, reference, ranking), _KEEP_PRIORS
    )


def _prior(index: Index, reference: int, ranking: Ranking) -> FloatArray:
    days = np.asarray(index.passage_day, dtype=np.int64)
    age = reference - days
    fresh = (days > 0) & (age >= 0)
    decay = np.exp(-np.where(fresh, age, 0) / ranking.days)
    prior: FloatArray = 1.0 + ranking.boost * np.where(fresh, decay, 0.0)
    prior.flags.writeable = False  # shared by every query of the day (the search keeps its largest)
    return prior


def term_weights(index: Index, terms: list[str]) -> dict[str, float]:
    """Each distinct query term's idf (a term the corpus lacks gets the highest idf)."""
    n = max(index.n_live, 1)
    out: dict[str, float] = {}
    for term in dict.fromkeys(terms):
        t = index.vocab.get(term)
        df = int(index.df[t]) if t is not None else 0
        out[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return out


def coverage(
    index: Index,
    passage: int,
    weights: dict[str, float],
    names: dict[str, frozenset[str]] | None = None,
    present: set[int] | None = None,
) -> float:
    """Share of the question's idf weight found in the passage (title included).

    `names`: term -> the question's capitalised words with that term; such a term counts only when
    one of those words is in the passage as a word, not just its stem ("Mars" is not "Mar-a-Lago").
    `present`: the passage's distinct term ids, when known.
    """
    present = present if present is not None else set(index.passage_terms(passage).tolist())
    total = sum(weights.values())
    words: set[str] | None = None
    found = 0.0
    for t, w in weights.items():
        if index.vocab.get(t) not in present:
            continue
        if names and t in names:
            if words is None:
                article = index.article_of(passage)
                words = set(_WORD.findall(f"{article.title} {index.passage_text(passage)}".casefold()))
            if not names[t] & words:
                continue
        found += w
    return found / total if total else 0.0


def unmatched_names(
    index: Index, passage: int, names: dict[str, frozenset[str]], present: set[int] | None = None
) -> frozenset[str]:
    """The question's name terms (see `coverage`) the passage holds only as the stem of another
    word ("mar" of Mar-a-Lago for "Mars"). `present`: the passage's distinct term ids, when known."""
    if not names:
        return frozenset()
    present = present if present is not None else set(index.passage_terms(passage).tolist())
    held = [t for t in names if index.vocab.get(t) in present]
    if not held:
        return frozenset()
    article = index.article_of(passage)
    words = set(_WORD.findall(f"{article.title} {index.passage_text(passage)}".casefold()))
    return frozenset(t for t in held if not names[t] & words)


_WORD = re.compile(r"\w+")
