"""The search: the top k passages by rank-bm25's exact scores without scoring every passage.

Rough 8-bit weights bound the exact ones, so only the passages that can still reach the top k are
scored exactly, in float64, term by term in query order as rank-bm25 does; the common words are
often not read whole (`newsbot.index.maxscore`).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from newsbot.index import maxscore
from newsbot.index.bm25 import FloatArray
from newsbot.records import Filters

if TYPE_CHECKING:
    from newsbot.index.store import Index


def search(
    index: Index,
    term_ids: list[int],
    k: int,
    filters: Filters = Filters(),
    per_article: int = 1,
    factor: FloatArray | None = None,
) -> list[tuple[int, float]]:
    """The best (passage, score) pairs, best first, at most `per_article` per article.

    Exactly what scoring every passage (`scores`), multiplying each score by its passage's
    `factor` (a prior, 0 or at least 1e-30: float32 must hold it; one per passage) if given, and
    ranking by score, then passage order, gives: the passages that can be in the top k by their
    rough scores (`newsbot.index.maxscore`) are scored again with exact float64 weights, term by
    term in query order as rank-bm25 does, which gives its floats exactly (times `factor`).
    """
    # A term of idf 0 (say, only in dead passages) adds exactly 0.0 to every score: skipped.
    weighed = [t for t in term_ids if index.idf[t] != 0]
    if not weighed or not index.n_live or k < 1:
        return []
    repeats = Counter(weighed)
    if min(index.idf[list(repeats)]) < 0:  # negative weights (tiny corpora): no bounds to rely on
        return _search_all(index, term_ids, k, filters, per_article, factor)
    return maxscore.search(
        index, weighed, k, filters, per_article, factor, lambda d, s: _ranked(index, d, s, k, per_article)
    )


def _ranked(
    index: Index, docs: npt.NDArray[np.integer[Any]], scores: FloatArray, k: int, per_article: int
) -> list[tuple[int, float]]:
    """The top `k` of `docs` by score, then passage order, at most `per_article` per article."""
    nonzero = np.flatnonzero(scores)
    docs, scores = docs[nonzero], scores[nonzero]
    order = np.lexsort((docs, -scores))
    return [
        (int(docs[i]), float(scores[i]))
        for i in order[_pick(docs[order], index.passage_article, k, per_article)]
    ]


def _search_all(
    index: Index, term_ids: list[int], k: int, filters: Filters, per_article: int, factor: FloatArray | None
) -> list[tuple[int, float]]:
    """`search` by scoring every passage: for corpora where weights can be negative."""
    scores = index.scores(term_ids)
    if index.masks(filters):
        scores[~index.filter_mask(filters)] = 0.0
    docs = np.flatnonzero(scores)
    found = scores[docs] if factor is None else scores[docs] * factor[docs]
    return _ranked(index, docs, found, k, per_article)


def _pick(
    order: npt.NDArray[np.integer[Any]], article_of: npt.NDArray[np.int32], k: int, per_article: int
) -> list[int]:
    """Positions in `order` (passages, best first) of the first k, at most `per_article` per article."""
    picked: list[int] = []
    taken: dict[int, int] = {}
    for i, a in enumerate(article_of[order].tolist()):
        if per_article <= 0 or taken.get(a, 0) < per_article:
            taken[a] = taken.get(a, 0) + 1
            picked.append(i)
            if len(picked) == k:
                break
    return picked
