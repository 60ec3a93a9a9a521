"""The top k without reading every posting of common words (MaxScore, on the 8-bit levels).

Each posting's 8-bit level bounds its exact weight from both sides (see `_Term`), so a passage's
rough score (its levels times the terms' steps, added up) bounds its exact score, and a term's
largest level bounds what it can add to any passage. The terms are read whole in order of that
largest weight, rare and weighty first, adding rough scores up per passage. Now and then, the
k-th best lower bound so far is a floor the k-th result can only beat or equal; once the terms
not read yet cannot lift a passage without any read term up to it, and the passages that can
still reach it are few, those few are looked up in the remaining terms (only the blocks of
postings that hold them, `newsbot.index.skips`) instead of reading those terms whole. The
passages left are then scored exactly as rank-bm25 does; any passage left out scores below the
floor, so the result is exactly the exhaustive one.
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
# Bounds are made this much looser than worked out: a level is its float32 part (2**-20 from
# exact) over the unit (float32) rounded, a step is float32, and float32 sums of a few dozen
# rough weights are within 2**-18 of exact; float64 sums are far closer still.
SAFE = 1 + 2.0**-12
SUM_ERROR = 2.0**-16  # a float32 sum of rough weights, relatively (with room)
PICKS_PER_RESULT = 4  # lower bounds taken per result wanted to find the floor
LOOKUP_COST = 64  # postings read whole cost about as much as one passage looked up in a term
FIRST_CHECK = 30_000  # postings left to read below which stopping early is not worth a check
MAX_CHECKS = 3
SEED_POSTINGS = 50_000  # the terms read first, up to this many postings, give the floor

_local = threading.local()


class _Part:
    """One query term in one segment."""

    __slots__ = ("count", "docs", "end", "first", "inverted", "level", "postings", "start", "step", "term")

    def __init__(self, term: int, start: int, end: int, inverted: Inverted, step: float) -> None:
        self.term, self.start, self.end, self.inverted = term, start, end, inverted
        self.postings: Compact = inverted.postings
        self.level = inverted.level
        self.first = int(self.postings.indptr[term])
        self.count = int(self.postings.indptr[term + 1]) - self.first
        self.step = step  # a rough weight is its level times this (times the term's repeats)
        self.docs: IntArray | None = None  # its passages plus one, once read whole

    def skips(self) -> Skips:
        kept = self.inverted.skips.get(self.term)
        if kept is None:
            kept = self.inverted.skips.setdefault(self.term, Skips.of(self.postings, self.level, self.term))
        return kept

    def read(self) -> tuple[int, IntArray, Float32Array]:
        """Its segment's first passage, its passages plus one within it, and their rough weights."""
        self.docs = self.postings.docs_after(self.term)
        rough = self.level[self.first : self.first + self.count].astype(np.float32)
        rough *= np.float32(self.step)
        return self.start, self.docs, rough

    def find(self, after: IntArray) -> tuple[npt.NDArray[np.intp], IntArray]:
        """Which of these passages plus one (segment's numbering, ascending) hold the term, and
        their posting numbers; only the blocks that can hold them are decoded if not read."""
        if self.docs is not None:
            docs, at = self.docs, np.searchsorted(self.docs, after)
        else:
            skips = self.skips()
            block = np.searchsorted(skips.last, after)
            block = block[block < len(skips.last)]
            if not len(block):
                return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64)
            blocks = block[np.flatnonzero(np.diff(block, prepend=-1))]
            docs, where = skips.decode(self.postings, self.term, blocks)
            at = np.searchsorted(docs, after)
        np.minimum(at, len(docs) - 1, out=at)
        hit = np.flatnonzero(docs[at] == after)
        found = at[hit]
        return hit, (found + self.first if self.docs is not None else where[found])


class _Term:
    """A query term in every segment that has it.

    A posting's exact weight (times the term's repeats) is within half a step of its rough
    weight (level times step), give or take float roundings (`SAFE`), when the passage norms are
    those the levels were made with; under the index's, it is at most `grow` times bigger and
    `shrink` times smaller (`_drift`). Levels go up to LEVEL_MAX.
    """

    __slots__ = ("ceiling", "half", "parts", "size", "term", "times")

    def __init__(self, term: int, times: int, parts: list[_Part], grow: float) -> None:
        self.term, self.times, self.parts = term, times, parts
        self.size = sum(p.count for p in parts)
        step = max((p.step for p in parts), default=0.0)
        self.half = step / 2  # the most a rough weight is below an exact one (before drift)
        self.ceiling = step * (LEVEL_MAX + 0.5) * grow * SAFE  # its largest weight


def search(
    index: Index,
    weighed: list[int],
    k: int,
    filters: Filters,
    per_article: int,
    factor: FloatArray | None,
    ranked: Ranker,
) -> Ranked:
    """`search.search` when every weight is positive. `ranked`: the top k of passages
    (ascending) by these scores, as the result is picked."""
    terms = _terms(index, Counter(weighed))
    terms.sort(key=lambda t: -t.ceiling)
    ok = _Eligible(index, filters, factor)
    high = ok.highest_factor()
    if high <= 0:  # every score is 0
        return []
    grow, shrink = _drift(index)
    left = sum(t.size for t in terms)  # postings not read yet
    rest = sum(t.ceiling for t in terms)  # the most the terms not read yet can add
    half, read, checks = 0.0, 0, 0
    found: IntArray | None = None
    floors = _Floors(ok, k, per_article, ranked, shrink)
    with _scratch(index.n_passages) as scratch:
        for n, term in enumerate(terms):
            if floors.seeds and checks < MAX_CHECKS and left >= max(FIRST_CHECK, read):
                checks += 1
                floor = floors.of_seeds(scratch, half)
                if rest * high * SAFE < floor:  # a passage with no term read yet is below it
                    can = scratch.above(_cut(floor, rest, high, half, grow))
                    if can is not None and len(can) * LOOKUP_COST <= left:
                        can = can[ok.reaches(can, _upper(scratch.sums[can], half, grow) + rest, floor)]
                        if len(can) * LOOKUP_COST <= left:
                            found = can
                            break
            for p in term.parts:
                scratch.add(*p.read(), first=n == 0)
            if read + term.size <= SEED_POSTINGS:
                floors.seed([p.docs + (p.start - 1) for p in term.parts if p.docs is not None])
            half += term.half
            rest -= term.ceiling
            left -= term.size
            read += term.size
        if found is None:
            floor = floors.of_seeds(scratch, half) or floors.of_all(scratch, half)
            can = scratch.above(_cut(floor, 0.0, high, half, grow))
            if can is None:
                can = scratch.distinct()
            found = can[ok.reaches(can, _upper(scratch.sums[can], half, grow), floor)]
    found.sort()
    exact = {t.term: _weights(index, t, found) for t in terms}
    return ranked(found, _scores(weighed, exact, found, factor))


def _upper(rough: Float32Array, half: float, grow: float) -> FloatArray:
    """Above the exact partial scores of passages with these rough ones (see `_Term`)."""
    return (rough.astype(np.float64) * (1 + SUM_ERROR) + half) * grow


def _cut(floor: float, rest: float, high: float, half: float, grow: float) -> float:
    """A rough score below which a passage cannot reach `floor` (see `_upper`)."""
    return ((floor / (high * SAFE) - rest) / grow - half) / (1 + SUM_ERROR) * (1 - SUM_ERROR)


class _Floors:
    """Scores the k-th result reaches: the k-th best of lower bounds of a few passages, picked as
    the result is (0 when fewer than k can be picked)."""

    def __init__(self, ok: _Eligible, k: int, per_article: int, ranked: Ranker, shrink: float) -> None:
        self.ok, self.k, self.ranked, self.shrink = ok, k, ranked, shrink
        self.want = PICKS_PER_RESULT * k * max(per_article, 1)
        self.seeds: list[IntArray] = []  # the passages of the rarest terms: likely the best
        self.distinct: IntArray | None = None

    def seed(self, docs: list[IntArray]) -> None:
        self.seeds.extend(docs)
        self.distinct = None

    def of_seeds(self, scratch: _Scratch, half: float) -> float:
        if self.distinct is None:
            self.distinct = scratch.unique(self.seeds)
        return self.of(self.distinct, scratch, half)

    def of_all(self, scratch: _Scratch, half: float) -> float:
        """From the passages of highest rough scores: over half the best, then lower."""
        top = float(scratch.sums.max())
        cut = top / 2
        while True:
            docs = scratch.above(cut) if cut > 0 else None
            floor = self.of(scratch.distinct() if docs is None else docs, scratch, half)
            if floor > 0 or docs is None:
                return floor
            cut = cut / 16 if cut > top * 1e-6 else 0.0

    def of(self, docs: IntArray, scratch: _Scratch, half: float) -> float:
        rough = scratch.sums[docs].astype(np.float64)
        lower = np.maximum(rough * (1 - SUM_ERROR) - half, 0.0) * (self.shrink / SAFE)
        lower = self.ok.values(docs, lower)
        want = self.want
        while True:
            if len(docs) > want:
                best = np.sort(np.argpartition(-lower, want)[:want])
                found = self.ranked(docs[best], lower[best])
            else:
                found = self.ranked(docs, lower)
            if len(found) >= self.k:
                return found[self.k - 1][1]
            if len(docs) <= want:
                return 0.0
            want *= PICKS_PER_RESULT


def _drift(index: Index) -> tuple[float, float]:
    """How much bigger, and smaller, term-frequency parts can be under the index's average length
    than under the ones their levels were made with (see `bm25.drift`): a passage's norm moves by
    at most the ratio of the averages, and its part by less."""
    ratios = [index.avgdl / s.avgdl for s in index.segments if s.avgdl > 0 and index.avgdl > 0]
    return max([1.0, *ratios]), min([1.0, *ratios])


def _terms(index: Index, repeats: Counter[int]) -> list[_Term]:
    terms = []
    for t, times in repeats.items():
        parts = []
        for segment, postings in index.parts:
            compact = postings.inverted.postings
            if t < compact.n_terms and compact.indptr[t + 1] > compact.indptr[t]:
                step = float(postings.step[t]) * times
                parts.append(_Part(t, segment.start, segment.end, postings.inverted, step))
        terms.append(_Term(t, times, parts, _drift(index)[0]))
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

    def values(self, docs: IntArray, scores: FloatArray) -> FloatArray:
        """Scores times the factor, 0 for passages that cannot be in a result."""
        out = np.where(self.mask[docs], scores, 0.0)
        if self.factor is not None:
            out *= self.factor[docs]
        return out

    def reaches(self, docs: IntArray, upper: FloatArray, floor: float) -> npt.NDArray[np.bool_]:
        """Which of `docs` can be in a result and score `floor`, with scores below `upper`."""
        return self.mask[docs] & (self.values(docs, upper) * SAFE >= floor)

    def highest_factor(self) -> float:
        return 1.0 if self.factor is None else max(float(self.factor.max()), 0.0)


def _alive(index: Index) -> npt.NDArray[np.bool_]:
    alive = np.ones(index.n_passages, dtype=bool)
    alive[index.dead] = False
    return alive


class _Scratch:
    """Per thread, a zeroed float32 per passage to add rough weights up in, zeroed again on
    leaving (whatever happened)."""

    def __init__(self, n: int) -> None:
        self.after = np.zeros(n + 1, dtype=np.float32)  # passage p's sum is at p + 1
        self.sums = self.after[1:]
        self.mark = np.zeros(n, dtype=np.int32)
        self.added_at: list[tuple[int, IntArray]] = []
        self.added, self.terms = 0, 0

    def __enter__(self) -> _Scratch:
        self.added_at, self.added, self.terms = [], 0, 0
        return self

    def __exit__(self, *_: object) -> None:
        if self.added > len(self.sums) // 16:
            self.after.fill(0)
        else:
            for start, docs in self.added_at:
                self.after[start:][docs] = 0
        self.added_at, self.added = [], 0

    def add(self, start: int, docs: IntArray, values: Float32Array, first: bool) -> None:
        """Add `values` at passages `start` plus `docs` less one (distinct; `docs` as
        `Compact.docs_after` gives them: offsetting a view saves a pass over them); `first`: of the
        first term, where all is 0."""
        self.added_at.append((start, docs))
        self.added += len(docs)
        mine = self.after[start:]
        if first:
            mine[docs] = values
        else:
            np.add.at(mine, docs, values)
            self.terms += 1

    def above(self, cut: float) -> IntArray | None:
        """The passages whose sums are `cut` or more (None for a cut of 0 or less: passages
        added to can still have a sum of 0)."""
        return np.flatnonzero(self.sums >= cut) if cut > 0 else None

    def distinct(self) -> IntArray:
        """The passages added to so far, each once."""
        return self.unique([docs + (start - 1) for start, docs in self.added_at])

    def unique(self, pieces: list[IntArray]) -> IntArray:
        if not pieces:
            return np.zeros(0, dtype=np.int64)
        docs = np.concatenate(pieces) if len(pieces) > 1 else pieces[0]
        if len(pieces) > 1:  # another term's passages may repeat one's
            order = np.arange(len(docs), dtype=np.int32)
            self.mark[docs] = order
            docs = docs[self.mark[docs] == order]
        return docs


def _scratch(n: int) -> _Scratch:
    kept: _Scratch | None = getattr(_local, "scratch", None)
    if kept is None or len(kept.sums) < n:
        kept = _local.scratch = _Scratch(n)
    return kept
