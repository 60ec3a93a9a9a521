"""The top k without reading every posting of common words (MaxScore, with block bounds).

Every posting's 8-bit level bounds its exact weight from above (`_Part.ceiling`), so each term has
a largest possible weight, and each block of its postings (`newsbot.index.skips`) a largest one
too. The search first finds a threshold: the k-th best exact score among a few likely passages
(the best by the rare terms, and those in the best blocks of the common ones), which the k-th
result can only beat or equal. Then the common terms whose largest weights add up to less than it
cannot, alone, put a passage there: only passages with another term are candidates, and those
terms are only looked up for the candidates still above the threshold (a few blocks each).
Candidates are scored exactly as rank-bm25 does; any passage left out scores below the threshold,
so the result is exactly the exhaustive one.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from newsbot.index.bm25 import LEVEL_MAX, Float32Array, FloatArray, IntArray, weigh
from newsbot.index.compact import Compact
from newsbot.index.skips import Skips

if TYPE_CHECKING:
    from newsbot.index.bm25 import Inverted
    from newsbot.index.store import Index
    from newsbot.records import Filters

Ranked = list[tuple[int, float]]
Ranker = Callable[[IntArray, FloatArray], Ranked]
# Bounds are made this much bigger than worked out: float32 parts, units, steps and sums are within
# 2**-19 of what they stand for (see `_Part`), and the final score's float64 sums far closer.
SAFE = 1 + 2.0**-12
RARE_POSTINGS = 20_000  # the rarest terms are read whole while their postings add up to this
SEEDS_PER_RESULT = 4  # passages scored exactly per result wanted, to find the threshold

_local = threading.local()


class _Part:
    """One query term in one segment."""

    __slots__ = ("ceiling", "count", "docs", "end", "first", "inverted", "level", "postings", "start", "term")

    def __init__(self, term: int, start: int, end: int, inverted: Inverted, ceiling: float) -> None:
        self.term, self.start, self.end, self.inverted = term, start, end, inverted
        self.postings: Compact = inverted.postings
        self.level = inverted.level
        self.first = int(self.postings.indptr[term])
        self.count = int(self.postings.indptr[term + 1]) - self.first
        # A posting's exact weight (times its repeats in the query) is below (level + 1/2) times
        # this: a level is its float32 part (2**-20 from exact) over the unit, rounded; parts grow
        # by at most the ratio of the index's average length to the one the levels were made with.
        self.ceiling = ceiling
        self.docs: IntArray | None = None  # its passages plus one, once read whole

    def skips(self) -> Skips:
        kept = self.inverted.skips.get(self.term)
        if kept is None:
            kept = self.inverted.skips.setdefault(self.term, Skips.of(self.postings, self.level, self.term))
        return kept

    def read(self) -> tuple[IntArray, Float32Array]:
        """All its passages (index-wide) and their weights' ceilings."""
        self.docs = self.postings.docs_after(self.term)
        return self.docs + (self.start - 1), self._ceilings(self.level[self.first : self.first + self.count])

    def read_blocks(self, blocks: npt.NDArray[np.intp]) -> tuple[IntArray, Float32Array]:
        """The passages (index-wide) of these blocks and their weights' ceilings."""
        docs, where = self.skips().decode(self.postings, self.term, blocks)
        docs += self.start - 1
        return docs, self._ceilings(self.level[where])

    def block_ceilings(self) -> Float32Array:
        return self._ceilings(self.skips().high)

    def _ceilings(self, levels: npt.NDArray[np.uint8]) -> Float32Array:
        out = levels.astype(np.float32)
        out += np.float32(0.5)
        out *= np.float32(self.ceiling)
        return out

    def find(self, after: IntArray) -> tuple[npt.NDArray[np.intp], IntArray]:
        """Which of these passages plus one (segment's numbering, ascending) hold the term, and
        their posting numbers."""
        if self.docs is not None:
            docs, at = self.docs, np.searchsorted(self.docs, after)
            base = self.first
        else:
            skips = self.skips()
            block = np.searchsorted(skips.last, after)
            blocks = np.unique(block[block < len(skips.last)])
            if not len(blocks):
                return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64)
            docs, where = skips.decode(self.postings, self.term, blocks)
            at = np.searchsorted(docs, after)
            base = 0
        np.minimum(at, len(docs) - 1, out=at)
        hit = np.flatnonzero(docs[at] == after)
        found = at[hit]
        return hit, (found + base if self.docs is not None else where[found])


class _Term:
    __slots__ = ("ceiling", "parts", "size", "term", "times")

    def __init__(self, term: int, times: int, parts: list[_Part]) -> None:
        self.term, self.times, self.parts = term, times, parts
        self.size = sum(p.count for p in parts)
        self.ceiling = max((p.ceiling for p in parts), default=0.0) * (LEVEL_MAX + 0.5)  # its largest weight


def search(
    index: Index,
    weighed: list[int],
    k: int,
    filters: Filters,
    per_article: int,
    factor: FloatArray | None,
    ranked: Ranker,
) -> Ranked | None:
    """`search.search` when every weight is positive; None when no threshold was found (fewer
    than k of the likely passages pass the filters): then nothing can be skipped safely."""
    terms = _terms(index, Counter(weighed))
    terms.sort(key=lambda t: t.size)
    rare: list[_Term] = []
    total = 0
    for term in terms:
        if rare and total + term.size > RARE_POSTINGS:
            break
        rare.append(term)
        total += term.size
    common = terms[len(rare) :]
    ok = _Eligible(index, filters, factor)
    scratch = _scratch(index.n_passages)
    read = [p.read() for t in rare for p in t.parts]
    want = SEEDS_PER_RESULT * k * max(per_article, 1)
    seeds = [ok.best(*scratch.add(read), want)]
    if common:  # and the best block of each common term in each segment
        tops = [p.read_blocks(np.array([np.argmax(p.skips().high)])) for t in common for p in t.parts]
        seeds.append(ok.best(*scratch.add(tops), want))
    candidates = np.unique(np.concatenate(seeds))
    exact = {t.term: _weights(index, t, candidates) for t in terms}
    found = ranked(candidates, _scores(weighed, exact, candidates, factor))
    if len(found) < k:
        return None
    floor = found[k - 1][1]  # the k-th result scores at least this

    # The common terms whose largest weights add up to less than the floor (smallest first)
    # cannot reach it alone: only passages with one of the other terms are candidates.
    high = ok.highest_factor()
    common.sort(key=lambda t: t.ceiling)
    rest, n = 0.0, 0
    while n < len(common) and (rest + common[n].ceiling) * high * SAFE < floor:
        rest += common[n].ceiling
        n += 1
    looked_up, essential = common[:n], common[n:]
    everything = sum(t.ceiling for t in terms)
    for term in essential:
        # A passage in a block whose ceiling and every other term's largest weight cannot reach
        # the floor together scores below it, whatever else it holds: such blocks are skipped.
        others = everything - term.ceiling
        for p in term.parts:
            keep = np.flatnonzero((p.block_ceilings() + np.float32(others)) * (high * SAFE) >= floor)
            if len(keep) == len(p.skips().last):
                read.append(p.read())
            elif len(keep):
                read.append(p.read_blocks(keep))
    docs, ceilings = scratch.add(read)
    docs = docs[ok.reaches(docs, ceilings + np.float32(rest), floor)]
    docs.sort()
    # Then exact weights: of the terms read, then of the others, weightiest first, each time
    # keeping only the passages that can still reach the floor.
    exact, partial = {}, np.zeros(len(docs))
    for i, term in enumerate([*rare, *essential, *reversed(looked_up)]):
        exact[term.term] = _weights(index, term, docs)
        partial += exact[term.term] * term.times
        if i + 1 < len(rare) + len(essential):
            continue
        if term in looked_up:
            rest -= term.ceiling
        alive = ok.reaches(docs, partial + max(rest, 0.0), floor)
        if not alive.all():
            docs, partial = docs[alive], partial[alive]
            exact = {t: w[alive] for t, w in exact.items()}
    return ranked(docs, _scores(weighed, exact, docs, factor))


def _terms(index: Index, repeats: Counter[int]) -> list[_Term]:
    terms = []
    for t, times in repeats.items():
        parts = []
        for segment, postings in index.parts:
            compact = postings.inverted.postings
            if t < compact.n_terms and compact.indptr[t + 1] > compact.indptr[t]:
                grow = max(1.0, index.avgdl / segment.avgdl) if segment.avgdl > 0 else 1.0
                ceiling = float(postings.step[t]) * times * grow * SAFE
                parts.append(_Part(t, segment.start, segment.end, postings.inverted, ceiling))
        terms.append(_Term(t, times, parts))
    return terms


def _weights(index: Index, term: _Term, docs: IntArray) -> FloatArray:
    """The exact weight of `term` (once) in each of `docs` (ascending), 0 where absent."""
    out = np.zeros(len(docs))
    cuts = np.searchsorted(docs, [x for p in term.parts for x in (p.start, p.end)])
    cols, tf = [], []
    for p, a, b in zip(term.parts, cuts[0::2], cuts[1::2], strict=True):
        if b > a:
            hit, where = p.find(docs[a:b] - (p.start - 1))
            cols.append(hit + a)
            tf.append(p.postings.tf_of(where))
    if cols:
        at = np.concatenate(cols)
        out[at] = weigh(index.idf[term.term], np.concatenate(tf), index.norm[docs[at]], index.params.k1)
    return out


def _scores(
    weighed: list[int], exact: dict[int, FloatArray], docs: IntArray, factor: FloatArray | None
) -> FloatArray:
    """Exact scores: the weights added in query order (repeats included) like rank-bm25, times
    `factor`."""
    scores = np.zeros(len(docs))
    for t in weighed:
        scores += exact[t]
    if factor is not None:
        scores *= factor[docs]
    return scores


class _Eligible:
    """Which passages can be in a result: live, passing the filters, with a factor above 0."""

    def __init__(self, index: Index, filters: Filters, factor: FloatArray | None) -> None:
        alive = index.memo.get("alive", None, lambda: _alive(index), 1)
        self.mask = alive & index.filter_mask(filters) if index.masks(filters) else alive
        self.factor = factor

    def best(self, docs: IntArray, ceilings: Float32Array, want: int) -> IntArray:
        """The `want` eligible ones of `docs` with the highest ceilings (times the factor)."""
        ok = self.mask[docs]
        docs = docs[ok]
        values: npt.NDArray[np.floating] = ceilings[ok]
        if self.factor is not None:
            values = values * self.factor[docs]
            docs, values = docs[values > 0], values[values > 0]
        if len(docs) <= want:
            return docs
        return docs[np.argpartition(-values, want)[:want]]

    def reaches(
        self, docs: IntArray, ceilings: npt.NDArray[np.floating], floor: float
    ) -> npt.NDArray[np.bool_]:
        """Which of `docs`, eligible, can score `floor` with these ceilings (before the factor)."""
        values = ceilings.astype(np.float64) * SAFE
        if self.factor is not None:
            values *= self.factor[docs]
        return self.mask[docs] & (values >= floor)

    def highest_factor(self) -> float:
        return 1.0 if self.factor is None else max(float(self.factor.max()), 0.0)


def _alive(index: Index) -> npt.NDArray[np.bool_]:
    alive = np.ones(index.n_passages, dtype=bool)
    alive[index.dead] = False
    return alive


class _Scratch:
    """Per thread, a zeroed float32 per passage to add postings up in; zeroed again after use."""

    def __init__(self, n: int) -> None:
        self.sums = np.zeros(n, dtype=np.float32)
        self.mark = np.zeros(n, dtype=np.int32)

    def add(self, read: list[tuple[IntArray, Float32Array]]) -> tuple[IntArray, Float32Array]:
        """The distinct passages of `read` and the sum of their values."""
        if len(read) <= 1:
            return read[0] if read else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        docs = np.concatenate([d for d, _ in read])
        try:
            np.add.at(self.sums, docs, np.concatenate([v for _, v in read]))
            sums = self.sums[docs]
        finally:
            self.sums[docs] = 0
        first = np.arange(len(docs), dtype=np.int32)
        self.mark[docs] = first
        distinct = self.mark[docs] == first
        return docs[distinct], sums[distinct]


def _scratch(n: int) -> _Scratch:
    kept: _Scratch | None = getattr(_local, "scratch", None)
    if kept is None or len(kept.sums) < n:
        kept = _local.scratch = _Scratch(n)
    return kept
