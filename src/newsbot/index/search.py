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

from newsbot.index.bm25 import Float32Array, FloatArray, IntArray, drift
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
    added up per passage in float32 (`np.add.at`); these rough scores are within `slack` of the
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
    # Passage p's rough score is at p + 1: the postings decode to passages plus one.
    after = np.zeros(index.n_passages + 1, dtype=np.float32)
    rough = after[1:]
    slack = 0.0
    decoded: list[dict[int, IntArray]] = []  # per segment, each term's passages + 1 (for `_lookup`)
    for segment, postings in index.parts:
        mine = after[segment.start : segment.end + 1]
        decoded.append({})
        for i, (t, n) in enumerate(repeats.items()):
            docs, weights = postings.rough_postings(t, n)
            if i:
                np.add.at(mine, docs, weights)
            else:  # all 0 so far: the same floats, faster
                mine[docs] = weights
            decoded[-1][t] = docs
        # Quantizing (see `rough_postings`), levels made with another average length, float32
        # sums (2**-24 a step) and a factor (two roundings), with room to spare.
        moved = drift(segment.avgdl, index.avgdl)
        slack = max(
            slack,
            float(postings.spread[list(repeats)].max()) * LEVEL_ERROR * (1 + moved)
            + 2 * moved
            + (len(weighed) + EXTRA_ROUNDINGS) * ROUNDING,
        )
    if slack >= 1:  # a term's levels too coarse to bound (a part below half a unit): no pruning
        return _search_all(index, term_ids, k, filters, per_article, factor)
    rough[index.dead] = 0.0
    if index.masks(filters):
        rough[~index.filter_mask(filters)] = 0.0
    if factor is not None:
        rough *= factor.astype(np.float32)
    top = _contenders(index, rough, k, per_article, slack)
    row = {t: i for i, t in enumerate(repeats)}
    exact = _lookup(index, list(repeats), top, decoded)
    scores = np.zeros(len(top))
    for t in weighed:  # in query order, repeats included, like rank-bm25
        scores += exact[row[t]]
    if factor is not None:
        scores *= factor[top]
    return _ranked(index, top, scores, k, per_article)


def _lookup(
    index: Index, terms: list[int], passages: npt.NDArray[np.intp], decoded: list[dict[int, IntArray]]
) -> FloatArray:
    """The exact weight of each term (rows) in each of `passages` (ascending; columns), 0 where
    absent; `decoded`: per segment, the terms' passages."""
    if len(index.parts) == 1:
        ((_, postings),) = index.parts
        return postings.lookup(terms, passages, decoded[0])
    cuts = np.searchsorted(passages, [s.start for s in index.segments[1:]])
    pieces = [
        postings.lookup(terms, part - segment.start, known)
        for (segment, postings), part, known in zip(
            index.parts, np.split(passages, cuts), decoded, strict=True
        )
    ]
    return np.concatenate(pieces, axis=1)


def _contenders(
    index: Index, rough: Float32Array, k: int, per_article: int, slack: float
) -> npt.NDArray[np.intp]:
    """The passages (ascending) that can be in the top k: all with a score if fewer than k.

    Rough scores are within `slack` (relative) of the true ones. The k passages picked by
    them (at most `per_article` per article) all score at least the k-th one's rough score
    less slack: a passage whose rough score is below that, less slack again, scores less
    than the k-th result and cannot change the result.
    """
    want = PICKS_PER_RESULT * k * max(per_article, 1)
    high = float(rough.max())
    cut = high * FIRST_CUT
    while True:
        docs = np.flatnonzero(rough >= cut if cut > 0 else rough > 0)
        best = docs[np.argpartition(-rough[docs], want)[:want]] if len(docs) > want else docs
        best = best[np.argsort(-rough[best], kind="stable")]
        picked = _pick(best, index.passage_article, k, per_article)
        if len(picked) >= k:
            floor = np.float32(float(rough[best[picked[k - 1]]]) * max(1 - FLOOR_SLACKS * slack, 0.0))
            if floor >= cut:
                return docs[rough[docs] >= floor]
            return np.flatnonzero(rough >= floor) if floor > 0 else np.flatnonzero(rough > 0)
        if len(best) < len(docs):
            want *= PICKS_GROWTH
        elif cut <= 0:
            return docs
        else:
            cut = cut / CUT_STEP if cut > high * LAST_CUT else 0.0


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
