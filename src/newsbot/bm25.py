"""BM25 with rank-bm25's exact scores, precomputed into postings so a query touches only its words.

rank-bm25's `BM25Okapi.get_scores` loops in Python over every document for every query word. The
score of a document is a sum over query words of a per-(word, document) weight that does not depend
on the query, so we compute each weight once at build time, with the same float64 operations in the
same order as rank-bm25, and store it in a compressed sparse row (CSR) layout by term. A query then
adds up the weights of its terms' postings: identical scores, milliseconds instead of seconds.

Postings keep each weight quantized to 16 bits (`level` times the term's `step`), for a first pass
that only has to find the few passages worth scoring exactly (see `newsbot.index.Index.search`),
and the term count, packed with the passage id, from which the exact float64 weight is computed
again, with rank-bm25's operations, when needed: 6 bytes a posting instead of 12.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
_TF_BITS = 6  # a posting is a passage id and a term count in one int32: count in the low bits
_TF_MAX = (1 << _TF_BITS) - 1


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
class Postings:
    """Term -> passages (ascending) with the term's count and weight; `indptr` is indexed by term id."""

    indptr: IntArray
    entries: Int32Array  # passage id << 6 | the term's count in it (63: look in `big_tf`)
    big_at: IntArray  # positions of the postings with counts of 63 or more, ascending
    big_tf: npt.NDArray[np.uint16]  # their counts
    level: npt.NDArray[np.uint16]  # the weight is about level * step[term]
    step: Float32Array  # per term: its largest weight / 65535 (a hair more)
    spread: Float32Array  # per term: its largest weight / its smallest (a hair more)
    idf: FloatArray  # per term
    norm: FloatArray  # per passage: k1 * (1 - b + b * length / avgdl)
    k1: float

    @property
    def n_docs(self) -> int:
        return len(self.norm)

    def postings(self, term: int) -> tuple[Int32Array, FloatArray]:
        """The passages that contain `term`, ascending, and its exact weight in each."""
        start, end = int(self.indptr[term]), int(self.indptr[term + 1])
        entries = self.entries[start:end]
        docs = entries >> _TF_BITS
        tf = self._counts(start, np.arange(len(entries)), entries)
        return docs, weigh(self.idf[term], tf, self.norm[docs], self.k1)

    def _counts(self, start: int, at: IntArray, entries: Int32Array) -> npt.NDArray[np.uint16]:
        """The term counts of postings `start + at`, given their `entries`."""
        tf = (entries & _TF_MAX).astype(np.uint16)
        big = np.flatnonzero(tf == _TF_MAX)
        if len(big):
            tf[big] = self.big_tf[np.searchsorted(self.big_at, start + at[big])]
        return tf

    def rough_postings(self, term: int, times: int = 1) -> tuple[Int32Array, Float32Array]:
        """The passages that contain `term`, ascending, and `times` its weight in each, roughly.

        Each rough weight is within `step[term] / 2` of the weight, so within
        `spread[term] / 131070` of it relatively, plus float32 rounding (2**-20).
        """
        start, end = int(self.indptr[term]), int(self.indptr[term + 1])
        weights = self.level[start:end].astype(np.float32)
        weights *= np.float32(self.step[term] * times)
        return self.entries[start:end] >> _TF_BITS, weights

    def lookup(self, term: int, docs: Int32Array) -> FloatArray:
        """The exact weight of `term` in each of `docs` (ascending passage ids), 0 where absent."""
        start, end = int(self.indptr[term]), int(self.indptr[term + 1])
        entries = self.entries[start:end]
        if not len(entries):
            return np.zeros(len(docs))
        at = np.minimum(np.searchsorted(entries, docs << _TF_BITS), len(entries) - 1)
        found = (entries[at] >> _TF_BITS) == docs
        at = at[found]
        weights = np.zeros(len(docs))
        weights[found] = weigh(self.idf[term], self._counts(start, at, entries[at]), self.norm[docs[found]],
                               self.k1)
        return weights

    def scores(self, term_ids: list[int]) -> FloatArray:
        """Every passage's score for the query terms (repeats count, as in rank-bm25)."""
        scores = np.zeros(self.n_docs)
        for t in term_ids:
            docs, weights = self.postings(t)
            # Within one term a passage appears once, so fancy-index += is a correct scatter-add.
            scores[docs] += weights
        return scores


def weigh(idf: Any, tf: npt.NDArray[np.uint16], norm: FloatArray, k1: float,
          into: FloatArray | None = None) -> FloatArray:
    """BM25Okapi weights: the same float64 operations as rank-bm25's get_scores,
    idf * (tf * (k1 + 1) / (tf + norm)), done in place (into `norm` when it is `into`)."""
    counts = tf.astype(np.float64)
    total = np.add(counts, norm, out=into)
    counts *= k1 + 1
    counts /= total
    counts *= idf
    return counts


def idf_table(df: IntArray, first_seen: IntArray, n_docs: int, epsilon: float) -> FloatArray:
    """rank-bm25's idf, floor for negative values included, summed in its dictionary order.

    rank-bm25 averages the idf of every word in the order the words first appear in the corpus;
    float addition is not associative, so we add in that same order to get the same bits.
    """
    idf = np.zeros(len(df))
    present = np.flatnonzero(df)
    if not len(present):
        return idf
    order = present[np.argsort(first_seen[present], kind="stable")]
    values = [math.log(n_docs - f + 0.5) - math.log(f + 0.5) for f in df[order].tolist()]
    idf[order] = values
    # np.cumsum adds strictly left to right, like rank-bm25's `idf_sum += idf` loop.
    average = float(np.cumsum(values)[-1]) / len(values)
    idf[order[idf[order] < 0]] = epsilon * average
    return idf


def build_postings(forward: Forward, n_terms: int, params: BM25Params) -> Postings:
    """Invert the forward index and precompute every (term, passage) BM25Okapi weight."""
    n_docs = forward.n_docs
    lengths = forward.doc_lengths()
    avgdl = int(lengths.sum()) / n_docs if n_docs else 1.0
    terms = np.asarray(forward.terms)
    assert len(terms) < 2**32
    # Forward positions by term, then by passage: a stable sort, done as one sort of int64 keys.
    order = terms.astype(np.int64)
    order <<= 32
    order |= np.arange(len(terms), dtype=np.int64)
    order.sort()
    order &= 0xFFFFFFFF
    df = np.bincount(terms, minlength=n_terms).astype(np.int64)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    first_seen = np.full(n_terms, len(order), dtype=np.int64)
    has = df > 0
    first_seen[has] = order[indptr[:-1][has]]  # stable sort: the first posting is the earliest
    idf = idf_table(df, first_seen, n_docs, params.epsilon)

    per_doc = np.diff(forward.indptr)
    counts = np.asarray(forward.counts)
    norm = params.k1 * (1 - params.b + params.b * lengths.astype(np.float64) / avgdl)
    # The 16-bit levels, from float32 weights (within 2**-20 of the exact ones: the search's slack
    # allows for twice that), computed in forward order, in place, then permuted into postings.
    spare = np.repeat(norm.astype(np.float32), per_doc)
    weights = counts.astype(np.float32)
    spare += weights
    weights *= np.float32(params.k1 + 1)
    weights /= spare
    weights *= np.take(np.abs(idf).astype(np.float32), terms, out=spare)
    step, spread = _steps(weights, terms, n_terms)
    weights /= np.take(step, terms, out=spare)
    np.rint(weights, out=weights)
    np.minimum(weights, 65535, out=weights)
    level = weights.astype(np.uint16)[order]
    del weights, spare
    assert n_docs < 2**(31 - _TF_BITS), "too many passages for 32-bit postings"
    packed = np.repeat(np.arange(n_docs, dtype=np.int32) << _TF_BITS, per_doc)
    packed |= np.minimum(counts, _TF_MAX).astype(np.int32)
    entries = packed[order]
    big_at = np.flatnonzero((entries & _TF_MAX) == _TF_MAX)
    return Postings(indptr=indptr, entries=entries, big_at=big_at, big_tf=counts[order[big_at]],
                    level=level, step=step, spread=spread, idf=idf, norm=norm, k1=params.k1)


def _steps(weights: Float32Array, terms: Int32Array, n_terms: int) -> tuple[Float32Array, Float32Array]:
    """Per term, a quantization step of 1/65535 of its largest weight (a hair more, so that no
    weight needs more than 65535 steps after rounding) and its largest weight / its smallest."""
    largest = np.zeros(n_terms, dtype=np.float32)
    np.maximum.at(largest, terms, weights)
    smallest = np.full(n_terms, np.inf, dtype=np.float32)
    np.minimum.at(smallest, terms, weights)
    high, low = largest.astype(np.float64), smallest.astype(np.float64)
    step = np.maximum(high / 65535 * (1 + 2.0**-18), np.finfo(np.float32).tiny).astype(np.float32)
    ratio = np.divide(high, low, out=np.ones_like(high), where=low > 0)
    spread = np.minimum(ratio * (1 + 2.0**-18), np.finfo(np.float32).max).astype(np.float32)
    return step, spread
