"""Answering a question: the best passages, cited, with the best sentence first.

The ranking is in `ranking.py`, the quoting (snippets, best sentence) in `snippets.py`.
"""

from __future__ import annotations

import re
import time
from datetime import date

from newsbot.answers.fold import fold, matching_articles
from newsbot.answers.ranking import (
    RANKING,
    Ranking,
    coverage,
    for_question,
    rank,
    reference_day,
    term_weights,
)
from newsbot.answers.snippets import Asked, best_sentence, mark, ranked, scored, window
from newsbot.answers.when import search_filters
from newsbot.errors import BadQuestion
from newsbot.index.store import Index
from newsbot.records import Answer, Citation, Filters, Hit, Snippet
from newsbot.text.analyzer import Analyzer

MAX_QUESTION_CHARS = 500
# Share of the question's idf weight that the best passage must contain to count as a match.
# Calibrated with `newsbot eval` on real news-quiz questions (see docs/quality.md): the coarse
# threshold that best separates shown answers from misses while hiding under 5% of the answers
# found for questions the corpus can answer.
MIN_COVERAGE = 0.55
SNIPPET_BESIDE_HEADLINE = True
_NO_WORDS = "Please ask a question in words, e.g. “who was sanctioned?”."

# Discord mentions (@everyone too), channels, roles, custom emoji, URLs and HTML tags carry
# no searchable words.
_MARKUP = re.compile(r"<(?:@[!&]?|#|a?:\w+:)\d+>|@(?:everyone|here)\b|<[^>]{1,200}>|https?://\S+|[*_`~|>]+")


def clean_question(question: str) -> str:
    """The question without markup; raises BadQuestion when nothing searchable is left."""
    text = " ".join(_MARKUP.sub(" ", question or "").split())
    if not text:
        raise BadQuestion(_NO_WORDS)
    if len(text) > MAX_QUESTION_CHARS:
        raise BadQuestion(
            f"That question is {len(text):,} characters long; please keep it under "
            f"{MAX_QUESTION_CHARS} and ask about one thing."
        )
    return text


def answer(
    index: Index,
    analyzer: Analyzer,
    question: str,
    k: int = 3,
    filters: Filters = Filters(),
    per_article: int = 1,
    as_of: date | None = None,
    ranking: Ranking = RANKING,
) -> Answer:
    """The best `k` passages for `question`, at most `per_article` from one article.

    `as_of`: the day recency is counted from; by default the `until` filter, else today.
    `ranking`: the recency prior, made stronger for a question about this week (`for_question`).
    """
    began = time.perf_counter()
    terms = question_terms(analyzer, question)
    k = max(1, min(k, 10))
    searched, period = search_filters(question, filters, as_of or filters.until or date.today())
    term_ids = index.term_ids(terms)
    candidates = rank(
        index,
        term_ids,
        2 * k,  # room to fold syndicated copies and still show k stories
        searched,
        per_article,
        reference_day(index, (searched.until if period else None) or as_of or filters.until),
        for_question(question, ranking),
    )
    stories = fold(index, candidates, k)
    found = [(p, s) for p, s, _ in stories]
    weights = term_weights(index, terms)
    asked = Asked.of(question, analyzer, weights)
    shown = [scored(index.passage_text(p), analyzer, asked) for p, _ in found]
    scores = ranked(shown)
    matched = bool(found) and coverage(index, found[0][0], weights, names(analyzer, question)) >= MIN_COVERAGE
    best = best_sentence(shown, scores) if matched else None
    if best and SNIPPET_BESIDE_HEADLINE:  # the headline is shown above: its passage quotes the rest
        scores[best[0]] = [0.0 if i == best[1] else v for i, v in enumerate(scores[best[0]])]
    hits = tuple(
        _hit(index, p, s, window(sentences, values, analyzer, weights), copies)
        for (p, s, copies), sentences, values in zip(stories, shown, scores, strict=True)
    )
    return Answer(
        question=question,
        hits=hits,
        best_sentence=mark(shown[best[0]][best[1]].text, analyzer, weights) if best else None,
        headline_hit=best[0] if best else None,
        period=period.label if period else None,
        matching=matching_articles(index, term_ids),
        matched=matched,
        index_version=index.version,
        took_ms=(time.perf_counter() - began) * 1000,
        filters=filters,
        terms=tuple(dict.fromkeys(terms)),
    )


_NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][a-z]+\b")


def names(analyzer: Analyzer, question: str) -> dict[str, frozenset[str]]:
    """Term -> the capitalised words of the question (not opening a sentence) with that term:
    names, which a passage must hold as words for the no-match rule."""
    out: dict[str, set[str]] = {}
    for match in _NAME.finditer(question.strip()):
        word = match.group().casefold()
        term = analyzer.term(word)
        if term and term != word:  # only a stemmed word can match a different word
            out.setdefault(term, set()).add(word)
    return {t: frozenset(w) for t, w in out.items()}


def question_terms(analyzer: Analyzer, question: str) -> list[str]:
    """The analysed terms of a question; raises BadQuestion when there are none."""
    text = clean_question(question)
    if not analyzer.tokens(text):
        raise BadQuestion(_NO_WORDS)
    terms = analyzer.terms(text)
    if not terms:
        raise BadQuestion(
            "That question has only very common words (like “who” or “the”); "
            "add the names or topics you are asking about."
        )
    return terms


def _hit(index: Index, passage: int, score: float, snippet: Snippet, copies: list[int]) -> Hit:
    return Hit(
        citation=_citation(index, passage),
        passage_id=passage,
        position=int(index.passage_position[passage]),
        score=score,
        snippet=snippet,
        also=tuple(_citation(index, p) for p in copies),
    )


def _citation(index: Index, passage: int) -> Citation:
    article = index.article_of(passage)
    return Citation(
        article_id=article.id,
        title=article.title,
        source=article.source,
        date=article.date,
        url=article.url,
        path=article.path,
    )
