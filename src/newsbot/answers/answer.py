"""Answering a question: the best passages, cited, with the best sentence first.

The ranking is in `ranking.py`, the quoting (snippets, best sentence) in `snippets.py`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import date

from newsbot.answers.evidence import Evidence, measure
from newsbot.answers.fold import fold, matching_articles
from newsbot.answers.nomatch import NO_MATCH
from newsbot.answers.ranking import (
    RANKING,
    Ranking,
    coverage,
    for_question,
    prior,
    rank,
    reference_day,
    term_weights,
    unmatched_names,
)
from newsbot.answers.second import second_passage
from newsbot.answers.snippets import Asked, Scored, best_sentence, mark, ranked, scored, sentence, window
from newsbot.answers.when import Period, search_filters
from newsbot.errors import BadQuestion
from newsbot.index.store import Index
from newsbot.records import Answer, Citation, Filters, Hit, Quote, Snippet
from newsbot.text.analyzer import Analyzer

MAX_QUESTION_CHARS = 500
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


@dataclass(frozen=True)
class Considered:
    """What `answer` found before quoting it: the stories to show, their sentences and scores,
    and the evidence the no-match model weighs."""

    stories: list[tuple[int, float, list[int]]]  # (passage, score, its copies), best first
    shown: list[Scored]
    scores: list[list[float]]
    weights: dict[str, float]
    terms: list[str]
    term_ids: list[int]
    period: Period | None
    evidence: Evidence | None  # None when nothing matched a term
    second: tuple[int, Scored] | None = None  # the best article's other passage (`second.py`)

    @property
    def matched(self) -> bool:
        return self.evidence is not None and NO_MATCH.matches(self.evidence)


def consider(
    index: Index,
    analyzer: Analyzer,
    question: str,
    k: int = 3,
    filters: Filters = Filters(),
    per_article: int = 1,
    as_of: date | None = None,
    ranking: Ranking = RANKING,
) -> Considered:
    """Rank, fold and score the sentences of the best `k` stories for `question` (see `answer`)."""
    terms = question_terms(analyzer, question)
    searched, period = search_filters(question, filters, as_of or filters.until or date.today())
    term_ids = index.term_ids(terms)
    reference = reference_day(index, (searched.until if period else None) or as_of or filters.until)
    prior_of = for_question(question, ranking)
    # room to fold syndicated copies and still show k stories
    candidates = rank(index, term_ids, 2 * k, searched, per_article, reference, prior_of)
    known: dict[int, set[int]] = {}

    def distinct(passage: int) -> set[int]:  # each passage's terms decoded once per question
        if passage not in known:
            known[passage] = set(index.passage_terms(passage).tolist())
        return known[passage]

    stories = fold(index, candidates, k, distinct)
    weights = term_weights(index, terms)
    asked = Asked.of(question, analyzer, weights)
    texts = [index.passage_text(p) for p, _, _ in stories]
    shown = [scored(text, analyzer, asked) for text in texts]
    titles = [sentence(index.article_of(p).title or "", analyzer, asked) for p, _, _ in stories]
    scores = ranked(shown, titles)
    names_of = names(analyzer, question)
    other = second_passage(index, stories[0][0], weights, names_of, distinct) if stories else None
    second = (other, scored(index.passage_text(other), analyzer, asked)) if other is not None else None
    evidence = None
    if candidates:
        top = candidates[0][0]
        factor = (
            1.0 if reference is None or prior_of.boost <= 0 else float(prior(index, reference, prior_of)[top])
        )
        absent = unmatched_names(index, top, names_of, distinct(top))
        evidence = measure(
            index,
            analyzer,
            terms,
            weights,
            candidates,
            factor,
            coverage(index, top, weights, names_of, distinct(top)),
            best_coverage(shown, analyzer, asked, absent),
            distinct,
            texts[0],
            absent,
        )
    return Considered(stories, shown, scores, weights, terms, term_ids, period, evidence, second)


def best_coverage(shown: list[Scored], analyzer: Analyzer, asked: Asked, absent: frozenset[str]) -> float:
    """The largest share of the question's weight one shown sentence holds, the `absent` names
    (held only as another word's stem) not counted."""
    if not absent:
        return max((s.covered for ss in shown for s in ss), default=0.0)
    total = sum(asked.weights.values()) or 1.0
    return max(
        (s.covered - sum(asked.weights.get(t, 0.0) for t in absent & set(analyzer.terms(s.text))) / total)
        for ss in shown
        for s in ss
    )


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
    k = max(1, min(k, 10))
    got = consider(index, analyzer, question, k, filters, per_article, as_of, ranking)
    shown, scores, weights = got.shown, got.scores, got.weights
    matched = got.matched
    best = best_sentence(shown, scores) if matched else None
    if best and SNIPPET_BESIDE_HEADLINE:  # the headline is shown above: its passage quotes the rest
        scores[best[0]] = [0.0 if i == best[1] else v for i, v in enumerate(scores[best[0]])]
    hits = [
        _hit(index, p, s, window(sentences, values, analyzer, weights), copies)
        for (p, s, copies), sentences, values in zip(got.stories, shown, scores, strict=True)
    ]
    if got.second and hits:  # quoted under the best passage, centred by the same scores
        passage, sentences = got.second
        values = ranked([*shown, sentences])[-1]
        snippet = window(sentences, values, analyzer, weights)
        hits[0] = replace(hits[0], second=Quote(passage, int(index.passage_position[passage]), snippet))
    return Answer(
        question=question,
        hits=tuple(hits),
        best_sentence=mark(shown[best[0]][best[1]].text, analyzer, weights) if best else None,
        headline_hit=best[0] if best else None,
        period=got.period.label if got.period else None,
        matching=matching_articles(index, got.term_ids),
        matched=matched,
        index_version=index.version,
        took_ms=(time.perf_counter() - began) * 1000,
        filters=filters,
        terms=tuple(dict.fromkeys(got.terms)),
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
