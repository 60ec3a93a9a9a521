"""BM25 with rank-bm25's exact scores, precomputed into postings so a query touches only its words.

rank-bm25's `BM25Okapi.get_scores` loops in Python over every document for every query word. The
score of a document is a sum over query words of a per-(word, document) weight that does not depend
on the query, so we compute each weight once at build time, with the same float64 operations in the
same order as rank-bm25, and store it in a compressed sparse row (CSR) layout by term. A query then
adds up the weights of its terms' postings: identical scores, milliseconds instead of seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BM25Params:
    """rank-bm25's BM25Okapi parameters (its defaults: k1=1.5, b=0.75, epsilon=0.25)."""

    k1: float = 1.5
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
        totals = np.zeros(len(self.counts) + 1, dtype=np.int64)
        np.cumsum(self.counts, out=totals[1:])
        return totals[self.indptr[1:]] - totals[self.indptr[:-1]]


@dataclass(frozen=True)
class Postings:
    """Term -> (passage ids, BM25 weights); `indptr` is indexed by term id."""

    indptr: IntArray
    doc_ids: Int32Array
    weights: FloatArray
    n_docs: int

    def scores(self, term_ids: list[int]) -> FloatArray:
        """Every passage's score for the query terms (repeats count, as in rank-bm25)."""
        scores = np.zeros(self.n_docs)
        for t in term_ids:
            start, end = self.indptr[t], self.indptr[t + 1]
            # Within one term a passage appears once, so fancy-index += is a correct scatter-add.
            scores[self.doc_ids[start:end]] += self.weights[start:end]
        return scores


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
    order = np.argsort(forward.terms, kind="stable")  # by term, then by passage
    df = np.bincount(forward.terms, minlength=n_terms).astype(np.int64)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    first_seen = np.full(n_terms, len(order), dtype=np.int64)
    has = df > 0
    first_seen[has] = order[indptr[:-1][has]]  # stable sort: the first posting is the earliest
    idf = idf_table(df, first_seen, n_docs, params.epsilon)

    rows = np.repeat(np.arange(n_docs, dtype=np.int32), np.diff(forward.indptr))
    doc_ids = rows[order]
    term_of = forward.terms[order]
    tf = forward.counts[order].astype(np.float64)
    # The same operations, in the same order, as rank_bm25.BM25Okapi.get_scores.
    norm = params.k1 * (1 - params.b + params.b * lengths.astype(np.float64) / avgdl)
    weights = idf[term_of] * (tf * (params.k1 + 1) / (tf + norm[doc_ids]))
    return Postings(indptr=indptr, doc_ids=doc_ids, weights=weights, n_docs=n_docs)
