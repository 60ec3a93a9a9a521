"""Scoring a new article against standing queries, with a strength that does not drift.

Raw BM25 grows and shrinks with the corpus (idf moves with every article), so a fixed threshold on
it would fire more or less as the news piles up. A watch's strength is instead the article's best
passage score for the query divided by the query's best possible score under the same statistics:
every query term (repeats counted, as BM25 counts them) at a saturated frequency, whose
term-frequency part tends to k1 + 1. The ratio is in [0, 1) and moves little when idf moves,
because every term's idf moves together (measured in docs/quality.md, "Watches").

A score can be high from common words alone, so a match also needs the query's rarest term (the
highest idf) in the article. Requiring more (every term above the query's median idf, or the two
rarest) lost more right matches than wrong ones in the replay (docs/quality.md): the strength
threshold already asks for most of the query's weight.

Candidates come from an inverted index of the watches keyed by their rarest term (`WatchIndex`): an
article that lacks a watch's rarest term cannot match it, so per article only the watches keyed by
one of its terms are scored, however many watches there are (the percolator idea).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from newsbot.index.bm25 import BM25Params
from newsbot.index.store import Index
from newsbot.records import Article
from newsbot.text.analyzer import Analyzer
from newsbot.text.passages import TARGET_WORDS, split_passages

# The strength a match needs by default, calibrated by replaying real news (docs/quality.md).
THRESHOLD = 0.40


class Statistics(Protocol):
    """The corpus statistics strengths are computed with: those of the live index."""

    @property
    def params(self) -> BM25Params: ...
    @property
    def avgdl(self) -> float: ...
    def idf(self, term: str) -> float: ...


@dataclass(frozen=True)
class IndexStatistics:
    """The live index's BM25 parameters, average passage length and idf, so that strengths are
    in the same family as /ask's scores. A term the index lacks gets the idf of a term in no
    passage (the largest there is)."""

    index: Index

    @property
    def params(self) -> BM25Params:
        return self.index.params

    @property
    def avgdl(self) -> float:
        return self.index.avgdl

    def idf(self, term: str) -> float:
        i = self.index.vocab.get(term)
        if i is not None and self.index.df[i] > 0:
            return float(self.index.idf[i])
        n = self.index.n_live
        return math.log(n + 0.5) - math.log(0.5)


@dataclass(frozen=True)
class ArticleTerms:
    """An article as the index sees it: per passage its term counts (the title's words in every
    passage, see `newsbot.index.workers`) and length, and all its terms."""

    article: Article
    passages: tuple[str, ...]
    counts: tuple[Counter[str], ...]
    lengths: tuple[int, ...]
    terms: frozenset[str]

    @classmethod
    def of(cls, article: Article, passages: Sequence[str], analyzer: Analyzer) -> ArticleTerms:
        title = analyzer.terms(article.title)
        counts = []
        for text in passages:
            counted = Counter(title)
            counted.update(analyzer.terms(text))
            counts.append(counted)
        if not counts:  # a title with no text still has its words
            counts.append(Counter(title))
            passages = [""]
        return cls(
            article=article,
            passages=tuple(passages),
            counts=tuple(counts),
            lengths=tuple(sum(c.values()) for c in counts),
            terms=frozenset().union(*counts),
        )

    @classmethod
    def analyse(cls, article: Article, analyzer: Analyzer, target: int = TARGET_WORDS) -> ArticleTerms:
        """Split and analyse an article's text the way a build does."""
        return cls.of(article, split_passages(article.text, target), analyzer)

    @classmethod
    def from_index(cls, index: Index, number: int, analyzer: Analyzer) -> ArticleTerms:
        """Article `number` of the index, from its stored passages (the index keeps no texts)."""
        start, end = int(index.article_start[number]), int(index.article_end[number])
        passages = [index.passage_text(p) for p in range(start, end)]
        return cls.of(index.articles[number], passages, analyzer)


@dataclass(frozen=True)
class Query:
    """A watch's query under the current statistics."""

    terms: tuple[str, ...]  # analysed, repeats kept
    idf: dict[str, float]
    best: float  # the best possible score: every term saturated
    required: frozenset[str]  # the rare terms an article must contain
    key: str  # the rarest term: the watch's entry in the `WatchIndex`

    @classmethod
    def of(cls, terms: Sequence[str], stats: Statistics) -> Query | None:
        """None when there are no terms to match."""
        if not terms:
            return None
        idf = {t: stats.idf(t) for t in terms}
        best = sum(idf[t] for t in terms) * (stats.params.k1 + 1)
        key = max(idf, key=lambda t: (idf[t], t))
        return cls(tuple(terms), idf, best, frozenset({key}), key)

    def strength(self, article: ArticleTerms, stats: Statistics) -> tuple[float, int]:
        """(strength, best passage number); (0, -1) when a rare term is missing."""
        if self.best <= 0 or not self.required <= article.terms:
            return 0.0, -1
        k1, b = stats.params.k1, stats.params.b
        avgdl = stats.avgdl if stats.avgdl > 0 else 1.0
        best_score, best_passage = 0.0, -1
        for number, (counts, length) in enumerate(zip(article.counts, article.lengths, strict=True)):
            norm = k1 * (1 - b + b * length / avgdl)
            score = 0.0
            for t in self.terms:
                tf = counts.get(t, 0)
                if tf:
                    score += self.idf[t] * (tf * (k1 + 1) / (tf + norm))
            if score > best_score:
                best_score, best_passage = score, number
        return best_score / self.best, best_passage


class WatchIndex:
    """Watch ids by the rarest term of their query: the candidates for an article are the watches
    keyed by one of its terms."""

    def __init__(self, queries: Iterable[tuple[int, Query]]) -> None:
        self.queries: dict[int, Query] = {}
        self.by_key: dict[str, list[int]] = {}
        for watch_id, query in queries:
            self.queries[watch_id] = query
            self.by_key.setdefault(query.key, []).append(watch_id)

    def candidates(self, article: ArticleTerms) -> list[int]:
        by_key = self.by_key
        if len(by_key) < len(article.terms):
            return [w for key, ids in by_key.items() if key in article.terms for w in ids]
        return [w for term in article.terms for w in by_key.get(term, ())]
