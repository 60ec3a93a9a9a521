"""The search's two passes over postings, a segment at a time, all query terms at once (see
`newsbot.index.search`).

First pass: the query terms' postings in a segment are decoded together, into one array of
index-wide passages (plus one), and their rough weights added up per passage with one
`np.add.at`; the segment's slice of the rough scores (1 MB for 250k passages) stays in the core's
cache meanwhile. Second pass: the few passages still in the running are looked up in those arrays,
for the exact weights. Term by term, a 12-term question over ten segments (the synthetic 2.1M)
made about 2,000 numpy calls, ~10 us each: as long as decoding its 1.4M postings.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from newsbot.index.bm25 import Float32Array, FloatArray, IntArray, Postings, weigh

if TYPE_CHECKING:
    from newsbot.index.store import Index


@dataclass(frozen=True)
class Decoded:
    """The query terms' postings in one segment: `docs` holds each term's part in turn."""

    number: int  # the segment's number in `index.parts`
    docs: IntArray  # index-wide passages plus one, ascending within each part
    starts: IntArray  # part j is docs[starts[j]:starts[j + 1]]
    rows: IntArray  # per part: its term's row (position in the query's distinct terms)
    firsts: IntArray  # per part: the number of its first posting in the segment


def rough_scores(index: Index, repeats: Mapping[int, int]) -> tuple[Float32Array, list[Decoded]]:
    """Each passage's rough score (float32) at its number plus one, and the postings decoded.

    `repeats`: each query term (idf > 0) with how many times the query has it. The rough weights
    are the 8-bit levels times the term's step in each segment (`Postings.step`), as float32.
    """
    after = np.zeros(index.n_passages + 1, dtype=np.float32)
    decoded = []
    for number, (segment, postings) in enumerate(index.parts):
        found = _add_segment(after, number, segment.start, postings, repeats)
        if found is not None:
            decoded.append(found)
    return after, decoded


def _add_segment(
    after: Float32Array, number: int, start: int, postings: Postings, repeats: Mapping[int, int]
) -> Decoded | None:
    """Decode the query terms' postings in one segment (passages from `start`) and add their
    rough weights to `after`; None when the segment has none."""
    compact, level = postings.inverted.postings, postings.inverted.level
    indptr, at16, at32 = compact.indptr, compact.at16, compact.at32
    # Parts (row, term, times, first, end): first the biggest without wide gaps (the scores there
    # are all 0 so far: set, not added, 10% faster), then those with wide gaps (searched for them).
    wide: list[tuple[int, int, int, int, int]] = []
    plain: list[tuple[int, int, int, int, int]] = []
    for row, (term, times) in enumerate(repeats.items()):
        if term < len(indptr) - 1 and (first := int(indptr[term])) < (end := int(indptr[term + 1])):
            (wide if at16[term + 1] > at16[term] else plain).append((row, term, times, first, end))
    plain.sort(key=lambda part: part[3] - part[4])
    parts, fresh = plain[:1] + wide + plain[1:], min(len(plain), 1)
    if not parts:
        return None
    starts = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([end - first for *_, first, end in parts], out=starts[1:])
    bounds = starts.tolist()
    # The gaps, each part's first from its segment's start (`Compact`): a gap of 256 or more is
    # a 0 there, its value in `gaps16` (or `gaps32`).
    docs = np.concatenate([compact.gaps[first:end] for *_, first, end in parts], dtype=np.int64)
    if wide:
        values = np.concatenate([compact.gaps16[at16[t] : at16[t + 1]] for _, t, *_ in wide], dtype=np.int64)
        widest = [compact.gaps32[at32[t] : at32[t + 1]] for _, t, *_ in wide if at32[t + 1] > at32[t]]
        if widest:
            values[values == 0] = np.concatenate(widest)
        docs[bounds[fresh] + np.flatnonzero(docs[bounds[fresh] : bounds[fresh + len(wide)]] == 0)] = values
    # One running sum for all parts: each part's first gap less the sum of the part before.
    if len(parts) > 1:
        docs[starts[1:-1]] -= np.add.reduceat(docs[: bounds[-2]], starts[:-2])
    docs[0] += start
    np.cumsum(docs, out=docs)
    weights = np.concatenate([level[first:end] for *_, first, end in parts], dtype=np.float32)
    for (_, term, times, *_), a, b in zip(parts, bounds, bounds[1:], strict=False):
        weights[a:b] *= np.float32(postings.step[term] * times)
    after[docs[: bounds[fresh]]] = weights[: bounds[fresh]]
    np.add.at(after, docs[bounds[fresh] :], weights[bounds[fresh] :])
    return Decoded(
        number=number,
        docs=docs,
        starts=starts,
        rows=np.array([row for row, *_ in parts], dtype=np.int64),
        firsts=np.array([first for *_, first, _ in parts], dtype=np.int64),
    )


def exact_weights(index: Index, terms: list[int], passages: IntArray, decoded: list[Decoded]) -> FloatArray:
    """The exact weight of each of `terms` (rows) in each of `passages` (ascending; columns), 0
    where absent: rank-bm25's floats (`bm25.weigh`), from the counts of the postings found."""
    weights = np.zeros((len(terms), len(passages)))
    after = passages + 1
    edges = np.searchsorted(passages, [s.start for s in index.segments] + [index.n_passages]).tolist()
    rows, cols, counts = [], [], []
    for found in decoded:
        low, high = edges[found.number], edges[found.number + 1]
        if low == high:
            continue
        row, col, posting = _find(found, after[low:high])
        rows.append(row)
        cols.append(col + low)
        counts.append(index.parts[found.number][1].inverted.postings.tf_of(posting))
    if not rows:
        return weights
    row_of, col_of = np.concatenate(rows), np.concatenate(cols)
    # Elementwise, so each weight is the same float as when computed term by term.
    idf = index.idf[np.asarray(terms)[row_of]]
    weights[row_of, col_of] = weigh(
        idf, np.concatenate(counts), index.norm[passages[col_of]], index.params.k1
    )
    return weights


def _find(found: Decoded, wanted: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Which of `wanted` (passages plus one, ascending) each part of `found` has: per hit, its
    row, its position in `wanted` and its posting's number in the segment."""
    n = len(wanted)
    at = np.concatenate(
        [np.searchsorted(found.docs[a:b], wanted) for a, b in itertools.pairwise(found.starts.tolist())]
    )
    sizes = np.diff(found.starts)
    hit = np.flatnonzero(at < np.repeat(sizes, n))
    part = hit // n
    at = at[hit] + found.starts[part]
    same = found.docs[at] == wanted[hit % n]
    hit, part, at = hit[same], part[same], at[same]
    return found.rows[part], hit % n, at - found.starts[part] + found.firsts[part]
