"""Answering a question: the best passages, cited, with the best sentence first.

Ranking is BM25 (rank-bm25's BM25Okapi scores) times a recency prior: news questions are about
recent news, so a passage's score is multiplied by `1 + boost * exp(-age / days)`, its article's
age counted in days before the "as of" date (today in the bot; the question's date in
`newsbot eval --as-of`). Measured on news-quiz questions in docs/quality.md.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import date

import numpy as np

from newsbot.analysis import Analyzer, split_sentences
from newsbot.bm25 import FloatArray
from newsbot.errors import BadQuestion
from newsbot.index import Index
from newsbot.records import Answer, Citation, Filters, Hit, Snippet

MAX_QUESTION_CHARS = 500
# Share of the question's idf weight that the best passage must contain to count as a match.
# Calibrated with `newsbot eval` on real news-quiz questions (see docs/quality.md): the coarse
# threshold that best separates shown answers from misses while hiding under 5% of the answers
# found for questions the corpus can answer.
MIN_COVERAGE = 0.55
SNIPPET_CHARS = 360
_NO_WORDS = "Please ask a question in words, e.g. “who was sanctioned?”."

# Discord mentions (@everyone too), channels, roles, custom emoji, URLs and HTML tags carry
# no searchable words.
_MARKUP = re.compile(
    r"<(?:@[!&]?|#|a?:\w+:)\d+>|@(?:everyone|here)\b|<[^>]{1,200}>|https?://\S+|[*_`~|>]+")


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
_NEWEST: dict[tuple[str, int], int] = {}  # (index version, as-of day) -> reference day
_PRIORS: dict[tuple[str, int, Ranking], FloatArray] = {}
Scored = tuple[list[str], list[float]]  # a passage's sentences and their scores for a question


def clean_question(question: str) -> str:
    """The question without markup; raises BadQuestion when nothing searchable is left."""
    text = " ".join(_MARKUP.sub(" ", question or "").split())
    if not text:
        raise BadQuestion(_NO_WORDS)
    if len(text) > MAX_QUESTION_CHARS:
        raise BadQuestion(f"That question is {len(text):,} characters long; please keep it under "
                          f"{MAX_QUESTION_CHARS} and ask about one thing.")
    return text


def answer(index: Index, analyzer: Analyzer, question: str, k: int = 3,
           filters: Filters = Filters(), per_article: int = 1, as_of: date | None = None,
           ranking: Ranking = RANKING) -> Answer:
    """The best `k` passages for `question`, at most `per_article` from one article.

    `as_of`: the day recency is counted from; by default the `until` filter, else today.
    """
    began = time.perf_counter()
    terms = question_terms(analyzer, question)
    k = max(1, min(k, 10))
    found = rank(index, index.term_ids(terms), k, filters, per_article,
                 reference_day(index, as_of or filters.until), ranking)
    weights = term_weights(index, terms)
    scored = [_scored(index.passage_text(p), analyzer, weights) for p, _ in found]
    hits = tuple(_hit(index, analyzer, p, s, weights, sentences)
                 for (p, s), sentences in zip(found, scored, strict=True))
    best = _best_sentence(analyzer, scored, weights)
    matched = bool(found) and coverage(index, found[0][0], weights) >= MIN_COVERAGE
    return Answer(
        question=question, hits=hits, best_sentence=best if matched else None, matched=matched,
        index_version=index.version, took_ms=(time.perf_counter() - began) * 1000,
        filters=filters, terms=tuple(dict.fromkeys(terms)),
    )


def question_terms(analyzer: Analyzer, question: str) -> list[str]:
    """The analysed terms of a question; raises BadQuestion when there are none."""
    text = clean_question(question)
    if not analyzer.tokens(text):
        raise BadQuestion(_NO_WORDS)
    terms = analyzer.terms(text)
    if not terms:
        raise BadQuestion("That question has only very common words (like “who” or “the”); "
                          "add the names or topics you are asking about.")
    return terms


def reference_day(index: Index, as_of: date | None = None) -> int | None:
    """The day (ordinal) recency is counted from: `as_of` (default today), or the newest article
    dated on or before it when the corpus stops earlier; None when no article has such a date."""
    limit = (as_of or date.today()).toordinal()
    key = (index.version, limit)
    day = _NEWEST.get(key)
    if day is None:
        days = np.asarray(index.passage_day)
        dated = days[(days > 0) & (days <= limit)]
        day = int(dated.max()) if len(dated) else 0
        if len(_NEWEST) >= 4096:
            _NEWEST.clear()
        _NEWEST[key] = day
    return day or None


def rank(index: Index, term_ids: list[int], k: int, filters: Filters = Filters(),
         per_article: int = 1, reference: int | None = None,
         ranking: Ranking = RANKING) -> list[tuple[int, float]]:
    """The best (passage, score) pairs, best first, at most `per_article` per article: BM25 times
    the recency prior counted from the day `reference` (none when None)."""
    if reference is None or ranking.boost <= 0:
        return index.search(term_ids, k, filters, per_article)
    return index.search(term_ids, k, filters, per_article, factor=prior(index, reference, ranking))


def prior(index: Index, reference: int, ranking: Ranking = RANKING) -> FloatArray:
    """Each passage's recency prior as of the day `reference`, kept per index version and day: a
    bot asks with the same day all day long."""
    key = (index.version, reference, ranking)
    found = _PRIORS.get(key)
    if found is None:
        days = np.asarray(index.passage_day, dtype=np.int64)
        age = reference - days
        fresh = (days > 0) & (age >= 0)
        decay = np.exp(-np.where(fresh, age, 0) / ranking.days)
        found = 1.0 + ranking.boost * np.where(fresh, decay, 0.0)
        if len(_PRIORS) >= 8:
            _PRIORS.clear()
        _PRIORS[key] = found
    return found


def term_weights(index: Index, terms: list[str]) -> dict[str, float]:
    """Each distinct query term's idf (a term the corpus lacks gets the highest idf)."""
    n = max(index.n_live, 1)
    out: dict[str, float] = {}
    for term in dict.fromkeys(terms):
        t = index.vocab.get(term)
        df = int(index.df[t]) if t is not None else 0
        out[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return out


def coverage(index: Index, passage: int, weights: dict[str, float]) -> float:
    """Share of the question's idf weight found in the passage (title included)."""
    present = set(index.passage_terms(passage).tolist())
    total = sum(weights.values())
    found = sum(w for t, w in weights.items() if index.vocab.get(t) in present)
    return found / total if total else 0.0


def _hit(index: Index, analyzer: Analyzer, passage: int, score: float, weights: dict[str, float],
         scored: Scored) -> Hit:
    article = index.article_of(passage)
    citation = Citation(article_id=article.id, title=article.title, source=article.source,
                        date=article.date, url=article.url, path=article.path)
    return Hit(citation=citation, passage_id=passage, position=int(index.passage_position[passage]),
               score=score, snippet=_window(scored, analyzer, weights))


def _sentence_score(sentence: str, analyzer: Analyzer, weights: dict[str, float]) -> float:
    found = {term for _, _, term in analyzer.spans(sentence) if term in weights}
    # Distinct query terms by idf, with a gentle preference for short, dense sentences.
    return sum(weights[t] for t in found) / (1 + len(sentence) / 2000)


def _scored(text: str, analyzer: Analyzer, weights: dict[str, float]) -> Scored:
    """A passage's sentences and their scores: worked out once, for its snippet and the best
    sentence."""
    sentences = split_sentences(text) or [text]
    return sentences, [_sentence_score(s, analyzer, weights) for s in sentences]


def snippet(text: str, analyzer: Analyzer, weights: dict[str, float],
            limit: int = SNIPPET_CHARS) -> Snippet:
    """The passage's best sentence with its neighbours up to `limit` characters, words marked."""
    return _window(_scored(text, analyzer, weights), analyzer, weights, limit)


def _window(scored: Scored, analyzer: Analyzer, weights: dict[str, float],
            limit: int = SNIPPET_CHARS) -> Snippet:
    sentences, scores = scored
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    lo = hi = best
    size = len(sentences[best])
    while True:
        grown = False
        for j in (hi + 1, lo - 1):
            if 0 <= j < len(sentences) and size + len(sentences[j]) + 1 <= limit:
                size += len(sentences[j]) + 1
                lo, hi = min(lo, j), max(hi, j)
                grown = True
        if not grown:
            break
    body = " ".join(sentences[lo:hi + 1])
    if len(body) > limit * 2:  # one enormous sentence: cut at a word
        body = body[:limit * 2].rsplit(" ", 1)[0] + " …"
    prefix = "… " if lo > 0 else ""
    suffix = " …" if hi < len(sentences) - 1 and not body.endswith("…") else ""
    return mark(prefix + body + suffix, analyzer, weights)


def mark(text: str, analyzer: Analyzer, weights: dict[str, float]) -> Snippet:
    """`text` with the spans of words whose term is in the question."""
    spans = tuple((s, e) for s, e, term in analyzer.spans(text) if term in weights)
    return Snippet(text=text, marks=spans)


def _best_sentence(analyzer: Analyzer, passages: list[Scored],
                   weights: dict[str, float]) -> Snippet | None:
    """The single sentence of the shown passages (best first) that covers the question best."""
    best: tuple[float, int, str] | None = None
    for rank, (sentences, scores) in enumerate(passages):
        for sentence, found in zip(sentences, scores, strict=True):
            score = found * (1 - 0.05 * rank)
            if best is None or score > best[0]:
                best = (score, rank, sentence)
    if best is None or best[0] <= 0:
        return None
    return mark(best[2], analyzer, weights)
