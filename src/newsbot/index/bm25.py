"""BM25 with rank-bm25's exact scores, precomputed into postings so a query touches only its words.

rank-bm25's `BM25Okapi.get_scores` loops in Python over every document for every query word. The
score of a document is a sum over query words of a per-(word, document) weight, idf times a
term-frequency part, that does not depend on the query. Postings keep, per term, its passages in
a compressed sparse row (CSR) layout with the term count, from which the exact float64 weight is
computed with rank-bm25's operations in its order: identical scores, milliseconds instead of
seconds.

Each posting also keeps the term-frequency part quantized to 8 bits (`level` times the term's
`unit`), for a first pass that only has to find the few passages worth scoring exactly (see
`newsbot.index.search`): with the passage (a gap from the previous one) and the count stored
small (`newsbot.index.compact`), about 2.8 bytes a posting. Levels leave out the idf, so a
segment of the index (`Inverted`) stays valid when the corpus around it changes: only idf and
the average passage length move, and the search allows for the latter (`drift`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from newsbot.errors import NewsbotError
from newsbot.index.background import cores
from newsbot.index.compact import Compact

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
LEVEL_MAX = 255  # the largest 8-bit level: a term's largest term-frequency part
# Units and spreads are made a hair bigger than computed, so that float32 rounding never takes a
# part past LEVEL_MAX units, nor a spread below the true one (the search's bounds rely on both).
HAIR = 1 + 2.0**-18
POSITION_BITS = 32  # forward positions are below 2**32: `by_term` packs (term, position) in an int64
_MAX_PASSAGES = 1 << 25  # passages per segment (and postings below 2**32: see `compact`)
_SORT_IN_TWO = 1 << 20  # keys from which `_sort` uses two threads (their start costs ~0.1 ms)
# A forward index as the analysis processes counted it, batch by batch: each batch's number of
# passages, and each of its positions' rank among the batch's positions of the same term
# (`chunktable.rank_terms`). With it, `by_term` places every posting without sorting.
Ranked = tuple[tuple[int, npt.NDArray[np.uint16]], ...]


@dataclass(frozen=True)
class BM25Params:
    """rank-bm25's BM25Okapi parameters. Its defaults are k1=1.5, b=0.75, epsilon=0.25; newsbot uses
    the textbook k1=1.2 (a little less weight on repeated words), measured in docs/quality.md."""

    k1: float = 1.2
    b: float = 0.75
    epsilon: float = 0.25


@dataclass(frozen=True)
class Forward:
    """Each passage's distinct term ids, in order of first occurrence, with their counts."""

    indptr: IntArray  # passage d owns terms[indptr[d]:indptr[d + 1]]
    terms: Int32Array
    counts: npt.NDArray[np.uint16]
    ranked: Ranked | None = None  # its batches' ranks, when all of them came with theirs

    @property
    def n_docs(self) -> int:
        return len(self.indptr) - 1

    def doc_lengths(self) -> IntArray:
        """Tokens per passage (repeats counted), as rank-bm25's `doc_len`."""
        lengths = np.zeros(self.n_docs, dtype=np.int64)
        has = np.flatnonzero(np.diff(self.indptr))
        if len(has):
            lengths[has] = np.add.reduceat(self.counts, self.indptr[has], dtype=np.int64)
        return lengths


@dataclass(frozen=True)
class Inverted:
    """A run of passages' postings, written once: term -> passages (ascending, numbered from 0)
    with the term's count (compressed: `newsbot.index.compact`) and the 8-bit level of its
    term-frequency part."""

    postings: Compact  # indexed by term id; terms numbered after this was built have none
    level: npt.NDArray[np.uint8]  # the term-frequency part is about level * unit[term]
    unit: Float32Array  # per term: its largest term-frequency part / 255 (a hair more)
    spread: Float32Array  # per term: its largest term-frequency part / its smallest (a hair more)
    first: IntArray  # per term: its first position in the forward index (its length: none)

    @property
    def indptr(self) -> IntArray:
        return self.postings.indptr

    def passages(self, term: int) -> IntArray:
        """The passages that contain `term`, ascending."""
        return self.postings.docs(term)


@dataclass(frozen=True)
class Postings:
    """An `Inverted` with the corpus-wide idf and passage norms: what a query reads."""

    inverted: Inverted
    step: Float32Array  # per term: unit * |idf|, so the weight is about level * step
    spread: Float32Array
    idf: FloatArray  # per term
    norm: FloatArray  # per passage: k1 * (1 - b + b * length / avgdl)
    k1: float

    @classmethod
    def over(cls, inverted: Inverted, idf: FloatArray, norm: FloatArray, k1: float) -> Postings:
        """`inverted` with these statistics (terms it lacks get empty postings)."""
        n_terms, have = len(idf), len(inverted.unit)
        unit, spread = inverted.unit, inverted.spread
        if have < n_terms:
            unit = np.concatenate([unit, np.zeros(n_terms - have, dtype=np.float32)])
            spread = np.concatenate([spread, np.ones(n_terms - have, dtype=np.float32)])
        step = np.maximum(unit * np.abs(idf), np.finfo(np.float32).tiny).astype(np.float32)
        return cls(inverted=inverted, step=step, spread=spread, idf=idf, norm=norm, k1=k1)

    def postings(self, term: int) -> tuple[IntArray, FloatArray]:
        """The passages that contain `term`, ascending, and its exact weight in each."""
        compact = self.inverted.postings
        docs = compact.docs(term)
        return docs, weigh(self.idf[term], compact.counts(term), self.norm[docs], self.k1)


def weigh(idf: Any, tf: npt.NDArray[np.uint16], norm: FloatArray, k1: float) -> FloatArray:
    """BM25Okapi weights: the same float64 operations as rank-bm25's get_scores,
    idf * (tf * (k1 + 1) / (tf + norm)), done in place on one new array."""
    counts = tf.astype(np.float64)
    total = counts + norm
    counts *= k1 + 1
    counts /= total
    counts *= idf
    return counts


def offsets(sizes: npt.NDArray[np.integer[Any]]) -> IntArray:
    """CSR offsets of consecutive runs of these sizes: run i is [out[i], out[i + 1])."""
    out = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=out[1:])
    return out


def idf_table(df: IntArray, n_docs: int, epsilon: float, first_seen: Callable[[], IntArray]) -> FloatArray:
    """rank-bm25's idf, with its floor for negative values: epsilon times the average idf.

    rank-bm25 averages the idf of every word in the order the words first appear in the corpus;
    float addition is not associative, so we add in that same order (`first_seen()`: each term's
    first position in the corpus) to get the same bits. The average matters only when some idf is
    negative (a word in over half the passages), so only then is the order worked out.
    """
    idf = np.zeros(len(df))
    present = np.flatnonzero(df)
    if not len(present):
        return idf
    # Computed once per distinct frequency (a few thousand, against hundreds of thousands of
    # terms), with `math.log` as rank-bm25 does: numpy's log may differ in the last bit.
    frequencies = df[present]
    distinct = np.flatnonzero(np.bincount(frequencies))  # no sort: frequencies are <= n_docs
    table = np.zeros(int(distinct[-1]) + 1)
    table[distinct] = [math.log(n_docs - f + 0.5) - math.log(f + 0.5) for f in distinct.tolist()]
    idf[present] = table[frequencies]
    negative = present[idf[present] < 0]
    if len(negative):
        order = present[np.argsort(first_seen()[present], kind="stable")]
        # np.cumsum adds strictly left to right, like rank-bm25's `idf_sum += idf` loop.
        average = float(np.cumsum(idf[order])[-1]) / len(order)
        idf[negative] = epsilon * average
    return idf


def norms(lengths: npt.NDArray[np.integer[Any]], avgdl: float, params: BM25Params) -> FloatArray:
    """Each passage's k1 * (1 - b + b * length / avgdl), as rank-bm25 computes it."""
    return params.k1 * (1 - params.b + params.b * lengths.astype(np.float64) / avgdl)


def average_length(lengths: npt.NDArray[np.integer[Any]]) -> float:
    """rank-bm25's avgdl: the integer sum of lengths over their number (1.0 for no passages)."""
    return int(lengths.sum()) / len(lengths) if len(lengths) else 1.0


def drift(built_with: float, avgdl: float) -> float:
    """How far (relatively) term-frequency parts made with average length `built_with` can be
    from those with `avgdl`: tf * (k1 + 1) / (tf + norm) moves by at most the norm's ratio."""
    return abs(built_with / avgdl - 1) if avgdl > 0 and built_with > 0 else 0.0


def invert(forward: Forward, n_terms: int, norm: FloatArray, k1: float) -> Inverted:
    """Invert the forward index, with 8-bit levels of every (term, passage) term-frequency part
    for these passage norms."""
    n_docs = forward.n_docs
    terms = np.asarray(forward.terms)
    if n_docs >= _MAX_PASSAGES or len(terms) >= 1 << POSITION_BITS:
        raise NewsbotError(
            f"Too much to index in one segment ({n_docs:,} passages, {len(terms):,} postings): "
            f"at most {_MAX_PASSAGES - 1:,} passages fit in 32-bit postings."
        )
    per_doc = np.diff(forward.indptr)
    counts = np.asarray(forward.counts)
    # The 8-bit levels, from float32 parts (within 2**-20 of the exact ones: the search's slack
    # allows for twice that), computed in forward order, in place, then permuted into postings.
    spare = np.repeat(norm.astype(np.float32), per_doc)
    parts = counts.astype(np.float32)
    spare += parts
    parts *= np.float32(k1 + 1)
    parts /= spare
    unit, spread = _units(parts, terms, n_terms)
    parts /= np.take(unit, terms, out=spare)
    np.rint(parts, out=parts)
    np.minimum(parts, LEVEL_MAX, out=parts)
    in_forward = parts.astype(np.uint8)
    del parts, spare  # before the postings' order is made: ~8 bytes a posting less at the peak
    df = np.bincount(terms, minlength=n_terms).astype(np.int64)
    indptr = offsets(df)
    order, docs = by_term(terms, forward.indptr, indptr, ranked=forward.ranked)
    first_seen = np.full(n_terms, len(order), dtype=np.int64)
    has = df > 0
    first_seen[has] = order[indptr[:-1][has]]  # stable sort: the first posting is the earliest
    level = in_forward[order]
    del in_forward
    in_order = counts[order]
    del order  # before the postings are encoded: 8 bytes a posting less at the peak
    postings = Compact.encode(indptr, docs, in_order)
    return Inverted(postings=postings, level=level, unit=unit, spread=spread, first=first_seen)


def by_term(
    terms: npt.NDArray[np.integer[Any]],
    passages: npt.NDArray[np.integer[Any]],
    indptr: IntArray,
    compiled: bool | None = None,
    ranked: Ranked | None = None,
) -> tuple[IntArray, Int32Array]:
    """A forward index's positions (passage d's terms are terms[passages[d]:passages[d + 1]]) by
    term, then by position: the postings' order; and the passage of each. `indptr`: the postings'
    CSR offsets (from each term's count). `compiled`: by the compiled counting sort, or by
    numpy's sort of (term, position) keys (the same order); None: compiled where numba is loaded
    already (a bot reindexing in its own process, a compaction after searches). Elsewhere
    loading it would cost ~0.3-0.45 s (more than the sort of a small reindex or an addition)
    and ~100 MB of RSS for good: in a cold build's main process, whose peak bounds a build
    (1,869 MB at 10M), that is too much for the ~1 s it saves at 215k. There, the analysis
    processes rank the postings of each batch (`ranked`), and they are placed from that."""
    if compiled is None:
        compiled = "numba" in sys.modules
    if ranked is not None and not compiled:
        return _placed(terms, passages, indptr, ranked)
    if not compiled:
        order = np.asarray(terms).astype(np.int64)
        order <<= POSITION_BITS
        order |= np.arange(len(terms), dtype=np.int64)
        _sort(order)
        order &= (1 << POSITION_BITS) - 1
        bounds: IntArray = np.asarray(passages, dtype=np.int64)
        per_doc: IntArray = bounds[1:] - bounds[:-1]
        return order, np.repeat(np.arange(len(per_doc), dtype=np.int32), per_doc)[order]
    from newsbot.index import kernels  # (numba: imported when needed, not by every command)

    order = np.empty(len(terms), dtype=np.int64)
    docs = np.empty(len(terms), dtype=np.int32)
    kernels.by_term(
        np.ascontiguousarray(terms, dtype=np.int32),
        np.ascontiguousarray(passages, dtype=np.int64),
        np.ascontiguousarray(indptr, dtype=np.int64),
        order,
        docs,
    )
    return order, docs


def _placed(
    terms: npt.NDArray[np.integer[Any]],
    passages: npt.NDArray[np.integer[Any]],
    indptr: IntArray,
    ranked: Ranked,
) -> tuple[IntArray, Int32Array]:
    """`by_term` as a counting sort: a posting's place is where its term's postings from the
    batches before its own end, plus its rank in its batch (0.3 s at 215k passages, where the
    sort of (term, position) keys takes 0.93 s, and no keys to hold). Every batch is worked in
    the same few buffers, made once for the widest."""
    bounds = np.asarray(passages, dtype=np.int64)
    assert sum(n for n, _ in ranked) == len(bounds) - 1, "the batches are the forward index's"
    order = np.empty(len(terms), dtype=np.int64)
    docs = np.empty(len(terms), dtype=np.int32)
    free = np.array(indptr[:-1], dtype=np.int64)  # each term's next place
    firsts = np.cumsum([0] + [n for n, _ in ranked])  # each batch's first passage
    widest = int(np.diff(bounds[firsts]).max(initial=0))
    step = np.arange(widest, dtype=np.int64)
    place, position = np.empty(widest, dtype=np.int64), np.empty(widest, dtype=np.int64)
    passage = np.empty(widest, dtype=np.int32)
    for first, (n, ranks) in zip(firsts[:-1].tolist(), ranked, strict=True):
        lo, hi = int(bounds[first]), int(bounds[first + n])
        batch, at, here, of = terms[lo:hi], place[: hi - lo], position[: hi - lo], passage[: hi - lo]
        np.take(free, batch, out=at)
        at += ranks
        np.add(step[: hi - lo], lo, out=here)
        order[at] = here
        # Each position's passage: a 1 where each of the batch's passages starts, summed up.
        starts = bounds[first + 1 : first + n] - lo
        of[:] = 0
        np.add.at(of, starts[starts < hi - lo], 1)  # (an empty passage starts where the next does)
        np.cumsum(of, out=of)
        of += first
        docs[at] = of
        at += 1
        np.maximum.at(free, batch, at)  # past the batch's last posting of each of its terms
    return order, docs


def _sort(keys: IntArray) -> None:
    """Sort distinct `keys` in place. A big array is sorted as two halves side by side (numpy lets
    go of the GIL while it sorts), then as a whole by timsort, which finds the two sorted runs and
    merges them: 0.45 s for the 17.5M postings of the 215k-passage benchmark, where one stable sort
    took 0.85 s and the default quicksort 1.17 s (docs/performance.md)."""
    if len(keys) < _SORT_IN_TWO or cores() < 2:
        keys.sort(kind="stable")
        return
    half = len(keys) // 2
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda part: part.sort(kind="stable"), (keys[:half], keys[half:])))
    keys.sort(kind="stable")


def _units(parts: Float32Array, terms: Int32Array, n_terms: int) -> tuple[Float32Array, Float32Array]:
    """Per term, a quantization unit of 1/LEVEL_MAX of its largest part (a `HAIR` more, so that
    no part needs more than LEVEL_MAX units after rounding) and its largest part / its smallest."""
    largest = np.zeros(n_terms, dtype=np.float32)
    np.maximum.at(largest, terms, parts)
    smallest = np.full(n_terms, np.inf, dtype=np.float32)
    np.minimum.at(smallest, terms, parts)
    high, low = largest.astype(np.float64), smallest.astype(np.float64)
    unit = np.maximum(high / LEVEL_MAX * HAIR, np.finfo(np.float32).tiny).astype(np.float32)
    ratio = np.divide(high, low, out=np.ones_like(high), where=low > 0)
    spread = np.minimum(ratio * HAIR, np.finfo(np.float32).max).astype(np.float32)
    return unit, spread
