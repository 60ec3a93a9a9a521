"""The pruned search: the top k passages by rank-bm25's exact scores without scoring every passage.

Rough 8-bit weights are summed per passage in float32; their error is bounded (`slack`), so only
the few passages that can still reach the top k are scored again exactly, in float64, term by term
in query order as rank-bm25 does.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from newsbot.index.bm25 import Float32Array, FloatArray, drift
from newsbot.index.rough import exact_weights, over, rough_scores
from newsbot.records import Filters

if TYPE_CHECKING:
    from newsbot.index.store import Index

# How far a rough score can be from the exact one, relatively (see `search`):
# Quantizing to 8-bit levels: within half a unit (max part / 510), and the float32 parts they were
# made from within 2**-20: relatively, spread / 509.8 at most; with room to spare:
LEVEL_ERROR = 1 / 500
ROUNDING = 2.0**-22  # one float32 rounding (2**-24 at most), with four times the room
EXTRA_ROUNDINGS = 12  # besides one per query term: level times step, the factor's two, spare
# Finding the contenders (see `_contenders`):
PICKS_PER_RESULT = 4  # rough-best passages taken per result wanted (room for per-article limits)
PICKS_GROWTH = 4  # taken again this many times more when they did not give k results
FIRST_CUT = 0.5  # first look only at passages with over half the best rough score
CUT_STEP = 16  # then lower that bar this many times each round
LAST_CUT = 1e-6  # below this share of the best rough score, take every scored passage
FLOOR_SLACKS = 3  # the k-th's rough score less this many slacks: below it, none can be in the top k
# A float32 product is within 2**-24 of the exact one (relatively); with the float32 factor's own
# rounding and the bars' (see `_Rough.above`), 2**-18 is room to spare.
REACH_ROOM = 1 + 2.0**-18
KEEP_FACTORS = 8  # largest values of factors kept with the index (`_largest`)


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
    ranking by score, then passage order, gives. The query terms' 8-bit rough weights are first
    added up per passage in float32 (`rough_scores`); these rough scores are within `slack` of the
    true ones, so only the few passages within about twice that of the k-th best can be in the
    top k. Those are then scored again with exact float64 weights, term by term in query order
    as rank-bm25 does, which gives its floats exactly (times `factor`, in float64).
    """
    # A term of idf 0 (say, only in dead passages) adds exactly 0.0 to every score: skipped.
    weighed = [t for t in term_ids if index.idf[t] != 0]
    if not weighed or not index.n_live or k < 1:
        return []
    repeats = Counter(weighed)
    if min(index.idf[list(repeats)]) < 0:  # negative weights (tiny corpora): no bounds to rely on
        return _search_all(index, term_ids, k, filters, per_article, factor)
    slack = _slack(index, list(repeats), len(weighed))
    if slack >= 1:  # a term's levels too coarse to bound (a part below half a unit): no pruning
        return _search_all(index, term_ids, k, filters, per_article, factor)
    # Passage p's rough score is at p + 1: the postings decode to passages plus one.
    after, high, decoded = rough_scores(index, repeats)
    top = _contenders(_Rough(index, after[1:], high, filters, factor), k, per_article, slack)
    row = {t: i for i, t in enumerate(repeats)}
    exact = exact_weights(index, list(repeats), top, decoded)
    scores = np.zeros(len(top))
    for t in weighed:  # in query order, repeats included, like rank-bm25
        scores += exact[row[t]]
    if factor is not None:
        scores *= factor[top]
    return _ranked(index, top, scores, k, per_article)


def warm(index: Index) -> None:
    """Load the compiled search (numba, ~0.4 s in a process) by searching the rarest term: the
    first question then does not wait for it."""
    if index.n_live and len(index.idf):
        search(index, [int(np.argmax(index.idf))], 1)


def _slack(index: Index, terms: list[int], n_weighed: int) -> float:
    """How far (relatively) a rough score can be from the exact one: quantizing (see
    `rough_scores`), levels made with another average length, float32 sums (2**-24 a step) and a
    factor (two roundings), with room to spare."""
    slack = 0.0
    for segment, postings in index.parts:
        moved = drift(segment.avgdl, index.avgdl)
        slack = max(
            slack,
            float(postings.spread[terms].max()) * LEVEL_ERROR * (1 + moved)
            + 2 * moved
            + (n_weighed + EXTRA_ROUNDINGS) * ROUNDING,
        )
    return slack


class _Rough:
    """The rough scores of the passages a query may return (live, let through by its filters),
    times their factor (in float32), worked out only for those above a bar.

    `rough` itself is left as added up, dead and filtered-out passages included, unscaled (each
    pass over every passage costs ~0.5 ms at 2.1M): a bar is applied to it divided by the largest
    factor, and only the passages over that are scaled and checked.
    """

    def __init__(
        self, index: Index, rough: Float32Array, high: float, filters: Filters, factor: FloatArray | None
    ):
        self.index, self.rough, self.high, self.filters, self.factor = index, rough, high, filters, factor
        # A scaled score is at most its rough score times this (`largest`, with room for roundings).
        self.reach = 1.0 if factor is None else _largest(index, factor) * REACH_ROOM

    def above(self, bar: float) -> tuple[npt.NDArray[np.intp], Float32Array]:
        """Every passage the query may return whose scaled rough score is at least `bar` (over 0
        when `bar` is 0), ascending, with those scores."""
        if self.factor is None:
            low = np.float32(bar)
        else:  # rounded, but `reach` has room for that: every passage scaled to `bar` is at or over it
            low = np.float32(bar / self.reach) if self.reach > 0 else np.float32(np.inf)
        index = self.index
        docs = over(self.rough, low, strict=bar <= 0)
        scores = self.rough[docs]
        if self.factor is not None:
            scores = scores * self.factor[docs].astype(np.float32)
            keep = scores >= np.float32(bar) if bar > 0 else scores > 0
            docs, scores = docs[keep], scores[keep]
        if len(index.dead):
            keep = index.passage_article[docs] >= 0
            docs, scores = docs[keep], scores[keep]
        if index.masks(self.filters):
            keep = index.filter_mask(self.filters, docs)
            docs, scores = docs[keep], scores[keep]
        return docs, scores


def _largest(index: Index, factor: FloatArray) -> float:
    """`factor`'s largest value; kept with the index while `factor` is, if it cannot change (the
    answers' prior is one read-only array all day): a pass over it costs ~0.3 ms at 2.1M passages."""
    if factor.flags.writeable or factor.base is not None:  # (a view: its base may change)
        return float(factor.max())
    kept = index.memo.get("largest_factor", id(factor), lambda: (factor, float(factor.max())), KEEP_FACTORS)
    if kept[0] is not factor:  # another array at the same address (the memo holds its own: never)
        return float(factor.max())
    return kept[1]


def _contenders(scan: _Rough, k: int, per_article: int, slack: float) -> npt.NDArray[np.intp]:
    """The passages (ascending) that can be in the top k: all with a score if fewer than k.

    Rough scores are within `slack` (relative) of the true ones. The k passages picked by
    them (at most `per_article` per article) all score at least the k-th one's rough score
    less slack: a passage whose rough score is below that, less slack again, scores less
    than the k-th result and cannot change the result.
    """
    want = PICKS_PER_RESULT * k * max(per_article, 1)
    high = scan.high
    bar = high * FIRST_CUT
    docs, scores = scan.above(bar)
    if len(scores) and float(scores.max()) * FIRST_CUT > bar:  # scaled up: as high a bar as then
        bar = float(scores.max()) * FIRST_CUT
        keep = scores >= np.float32(bar)
        docs, scores = docs[keep], scores[keep]
    while True:
        best = np.argpartition(-scores, want)[:want] if len(docs) > want else np.arange(len(docs))
        best = best[np.argsort(-scores[best], kind="stable")]
        picked = _pick(docs[best], scan.index.passage_article, k, per_article)
        if len(picked) >= k:
            floor = np.float32(float(scores[best[picked[k - 1]]]) * max(1 - FLOOR_SLACKS * slack, 0.0))
            if floor >= np.float32(bar):
                return docs[scores >= floor]
            docs, scores = scan.above(float(floor))
            return docs
        if len(best) < len(docs):
            want *= PICKS_GROWTH
            continue
        if bar <= 0:
            return docs
        bar = bar / CUT_STEP if bar > high * LAST_CUT else 0.0
        docs, scores = scan.above(bar)


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
