"""Plain reference BM25 over one forward index: every passage scored, for the exactness tests.

Not used by newsbot itself (its index scores through segments and the pruned search); kept here
as the simplest path from tokens to rank-bm25's scores, against which the fast paths are checked.
"""

from __future__ import annotations

import numpy as np

from newsbot.index.bm25 import (
    BM25Params,
    FloatArray,
    Forward,
    IntArray,
    Inverted,
    Postings,
    average_length,
    idf_table,
    invert,
    norms,
)


def doc_freq(inverted: Inverted, n_terms: int) -> IntArray:
    """Passages per term, for `n_terms` terms."""
    df = np.zeros(n_terms, dtype=np.int64)
    have = min(len(inverted.indptr) - 1, n_terms)
    df[:have] = np.diff(inverted.indptr[: have + 1])
    return df


def build_postings(forward: Forward, n_terms: int, params: BM25Params) -> Postings:
    """The postings of one forward index on its own: a corpus of exactly these passages."""
    lengths = forward.doc_lengths()
    norm = norms(lengths, average_length(lengths), params)
    inverted = invert(forward, n_terms, norm, params.k1)
    idf = idf_table(doc_freq(inverted, n_terms), forward.n_docs, params.epsilon, lambda: inverted.first)
    return Postings.over(inverted, idf, norm, params.k1)


def scores(postings: Postings, term_ids: list[int]) -> FloatArray:
    """Every passage's score for the query terms (repeats count, as in rank-bm25)."""
    out = np.zeros(len(postings.norm))
    for t in term_ids:
        docs, weights = postings.postings(t)
        # Within one term a passage appears once, so fancy-index += is a correct scatter-add.
        out[docs] += weights
    return out
