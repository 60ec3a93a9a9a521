"""Where each term is first met among the live passages: rank-bm25 averages idf in the order
words first appear in its corpus, and float addition is not associative, so a version adds its
idf in that order (`bm25.idf_table`) to give rank-bm25's floats exactly. After a reindex some
terms were first met in passages that died since; their next live passage is looked for.
"""

from __future__ import annotations

import hashlib

import numpy as np

from newsbot.index.bm25 import IntArray
from newsbot.index.segment import Segment


def first_seen(segments: list[Segment], dead: IntArray, n_terms: int) -> IntArray:
    """Each term's first position among the live passages' terms, segment after segment (for
    rank-bm25's idf order): where it was first seen in its segment, unless that passage died."""
    never = np.iinfo(np.int64).max
    first = np.full(n_terms, never, dtype=np.int64)
    offset = 0
    for segment in segments:
        local = _first_live(segment, dead[(dead >= segment.start) & (dead < segment.end)] - segment.start)
        terms = np.flatnonzero((local < never) & (first[: len(local)] == never))
        first[terms] = offset + local[terms]
        offset += int(segment.forward.indptr[-1])
    return first


# Per (segment, its dead passages): the terms first seen in a dead one and their first live
# positions (`never`: none left). Only those few differ from the segment's own first positions,
# so the answers of many segments are kept (a 10M index has 40 segments, all with dead passages
# after a reindex: keeping the whole arrays of four recomputed the rest at every addition).
_FIRST_LIVE: dict[tuple[str, bytes], tuple[IntArray, IntArray]] = {}
_KEPT = 256
_FIRST_FEW = 16  # postings decoded first when looking for a term's first live passage


def _first_live(segment: Segment, dead: IntArray) -> IntArray:
    """Each term's first position among `segment`'s passages that are not `dead` (local numbers),
    `never` where it has none. With dead passages, finding the next live one costs a lookup per
    term first seen in a dead passage (~2,000 after a 1% reindex at 215k, ~45 ms): kept for the
    next versions, which share the segment and its dead passages until the next reindex."""
    never = np.iinfo(np.int64).max
    forward, seen = segment.forward, segment.inverted.first
    n_terms = int(forward.indptr[-1])
    local = np.where(seen < n_terms, seen, never).astype(np.int64)
    if not len(dead):
        return local
    key = (segment.name, hashlib.blake2b(np.sort(dead).astype(np.int64).tobytes()).digest())
    known = _FIRST_LIVE.get(key)
    if known is None:
        known = _FIRST_LIVE[key] = _moved(segment, dead, local)
        if len(_FIRST_LIVE) > _KEPT:
            _FIRST_LIVE.pop(next(iter(_FIRST_LIVE)))
    lost, positions = known
    local[lost] = positions
    return local


def _moved(segment: Segment, dead: IntArray, local: IntArray) -> tuple[IntArray, IntArray]:
    """The terms `local` (first positions) puts in a `dead` passage, and their first positions
    in a live one (`never`: none)."""
    never = np.iinfo(np.int64).max
    gone = np.zeros(segment.n_passages, dtype=bool)
    gone[dead] = True
    present = np.flatnonzero(local < never)
    passage = np.searchsorted(segment.forward.indptr, local[present], "right") - 1
    lost = present[gone[passage]]  # first seen in a dead passage: where is the next live one?
    postings = segment.inverted.postings
    after = np.full(len(lost), -1, dtype=np.int64)
    # The first few postings of every such term, decoded together: the next live passage is
    # nearly always among them.
    docs, bounds = postings.starts(lost, _FIRST_FEW)
    alive = np.flatnonzero(~gone[docs])
    owner = np.searchsorted(bounds, alive, "right") - 1
    terms, first = np.unique(owner, return_index=True)
    after[terms] = docs[alive[first]]
    sizes = np.diff(bounds)
    for i in np.flatnonzero((after < 0) & (sizes == _FIRST_FEW)).tolist():  # past them: all read
        docs = postings.docs(int(lost[i]))
        live = docs[~gone[docs]]
        if len(live):
            after[i] = live[0]
    positions = np.full(len(lost), never, dtype=np.int64)
    found = after >= 0
    positions[found] = _positions(segment, lost[found], after[found])
    return lost, positions


def _positions(segment: Segment, terms: IntArray, passages: IntArray) -> IntArray:
    """The position of each of `terms` among its passage's terms (segment-wide: `forward.indptr`
    counts them), the passages' terms decoded all at once."""
    indptr = segment.forward.indptr
    wanted, row = np.unique(passages, return_inverse=True)
    sizes = indptr[wanted + 1] - indptr[wanted]
    starts = np.cumsum(sizes) - sizes
    found = segment.terms_of(wanted).astype(np.int64)
    width = max(int(found.max(initial=0)), int(terms.max(initial=0))) + 1  # (passage, term) keys
    keys = np.repeat(np.arange(len(wanted), dtype=np.int64), sizes) * width + found
    order = np.argsort(keys, kind="stable")
    at = order[np.searchsorted(keys[order], row.astype(np.int64) * width + terms)]
    return np.asarray(indptr[passages] + (at - starts[row]), dtype=np.int64)
