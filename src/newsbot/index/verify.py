"""Parity with rank-bm25 on the live index (`newsbot index --verify N`).

newsbot promises rank-bm25's `BM25Okapi.get_scores` floats, found faster. This check asks
rank-bm25 itself: the live passages are analysed again from their stored texts and titles, the
way a build analyses them (title terms, then the passage's), handed to `BM25Okapi` in index
order, and N sampled queries (seeded runs of a random passage's terms) must give the same top
ids and the same floats, bit for bit, as the index's own search. rank-bm25 is imported here only.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from newsbot.index.bm25 import FloatArray, IntArray
from newsbot.index.store import Index
from newsbot.text.analyzer import Analyzer

TOP = 10  # results compared per query, as a bot shows at most
QUERY_TERMS = (2, 5)  # the fewest and most terms in a sampled query (fewer if the passage has)
SHOWN = 5  # mismatches described in a report
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Parity:
    """How many sampled queries gave rank-bm25's top results exactly, and the first that did not."""

    queries: int
    identical: int
    mismatches: tuple[str, ...]  # at most `SHOWN`, described

    @property
    def ok(self) -> bool:
        return self.identical == self.queries

    def summary(self) -> str:
        return f"{self.identical}/{self.queries} queries identical to rank-bm25 (top {TOP} ids and scores)"


def passage_terms(index: Index, analyzer: Analyzer, passage: int) -> list[str]:
    """A passage's tokens as the build analysed them: its article's title, then its text."""
    return analyzer.terms(index.article_of(passage).title) + analyzer.terms(index.passage_text(passage))


def live_passages(index: Index) -> IntArray:
    return np.flatnonzero(np.asarray(index.passage_article) >= 0)


def sample_queries(index: Index, analyzer: Analyzer, n: int, seed: int = 0) -> list[list[str]]:
    """`n` queries, each a run of consecutive terms of a random live passage."""
    rng = random.Random(seed)
    passages = live_passages(index).tolist()
    queries: list[list[str]] = []
    for _ in range(n if passages else 0):
        terms = passage_terms(index, analyzer, rng.choice(passages))
        size = min(rng.randint(*QUERY_TERMS), len(terms))
        start = rng.randint(0, len(terms) - size)
        queries.append(terms[start : start + size])
    return queries


def verify(
    index: Index,
    analyzer: Analyzer,
    n: int,
    *,
    seed: int = 0,
    queries: list[list[str]] | None = None,
    progress: Progress | None = None,
) -> Parity:
    """Compare `n` sampled queries (or `queries`) between the index and rank-bm25. `analyzer`
    is configured as the index's was; stems it knows are not used: every word is stemmed again."""
    from rank_bm25 import BM25Okapi  # only here: the index computes its scores itself

    analyzer = Analyzer(analyzer.stopwords)
    queries = sample_queries(index, analyzer, n, seed) if queries is None else queries
    passages = live_passages(index)
    if not len(passages):  # nothing to find on either side (and rank-bm25 needs a passage)
        return Parity(len(queries), len(queries), ())
    tell = progress or (lambda stage, done, total: None)

    def corpus() -> Iterator[list[str]]:
        for i, passage in enumerate(passages.tolist()):
            if i % 1000 == 0:
                tell("re-analysing", i, len(passages))
            yield passage_terms(index, analyzer, passage)

    params = index.params
    reference = BM25Okapi(corpus(), k1=params.k1, b=params.b, epsilon=params.epsilon)
    identical, mismatches = 0, list[str]()
    for i, query in enumerate(queries):
        tell("comparing", i, len(queries))
        expected = _top(reference.get_scores(query), passages)
        found = index.search(index.term_ids(query), TOP, per_article=0)
        if found == expected:
            identical += 1
        elif len(mismatches) < SHOWN:
            mismatches.append(_difference(query, found, expected))
    return Parity(len(queries), identical, tuple(mismatches))


def _top(scores: FloatArray, passages: IntArray) -> list[tuple[int, float]]:
    """The best `TOP` (passage, score) of rank-bm25's scores: by score, then passage order."""
    scored = np.flatnonzero(scores)
    order = scored[np.lexsort((scored, -scores[scored]))][:TOP]
    return [(int(passages[i]), float(scores[i])) for i in order]


def _difference(query: list[str], found: list[tuple[int, float]], expected: list[tuple[int, float]]) -> str:
    for rank, (ours, theirs) in enumerate(zip(found, expected, strict=False), 1):
        if ours != theirs:
            ranked = f"#{rank} is passage {ours[0]} at {ours[1]!r}"
            return f"{' '.join(query)!r}: {ranked}, rank-bm25 has {theirs[0]} at {theirs[1]!r}"
    return f"{' '.join(query)!r}: {len(found)} results, rank-bm25 has {len(expected)}"
