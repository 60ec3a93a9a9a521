"""Loops compiled with numba: the search's inner loop, and grouping a forward index by term.

The search's: decoding a segment's postings of the query terms and adding up their rough
weights, one pass over each posting. In numpy the same work took five passes (widening copy,
wide gaps put back, running sum, weights, `np.add.at`), ~4 ns a posting: most of a query's time at
2M passages, where a question touches about 1.5M postings. The loop releases the GIL, so segments
can be added up in threads.

`by_term` is the stable sort by term that inverting a segment needs, as a counting sort (each
term's postings are already counted): one pass instead of numpy's sort of 35M int64 keys at 215k
passages (~1.1 s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from newsbot.imports import without_scipy

# numba looks for BLAS in scipy.linalg when its first compiled function loads (in
# `numba.np.arraymath`), for linear algebra no kernel does: ~0.17 s and 15 MB a process.
with without_scipy():
    import numba.np.arraymath  # noqa: F401
    from numba import njit


def _compiled(function: Callable[..., Any]) -> Any:
    """`function` compiled on first call, without the GIL; the machine code kept beside this file
    (or in the user's cache) for the next process. Where neither is writable (a read-only install
    and home), each process compiles it again (~1 s) rather than failing."""
    try:
        return njit(cache=True, nogil=True)(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return njit(nogil=True)(function)


@_compiled
def add_postings(
    after: npt.NDArray[np.float32],
    docs: npt.NDArray[np.int32],
    start: int,
    terms: npt.NDArray[np.int64],
    times: npt.NDArray[np.float32],
    step: npt.NDArray[np.float32],
    firsts: npt.NDArray[np.int64],
    indptr: npt.NDArray[np.int64],
    at16: npt.NDArray[np.uint32],
    at32: npt.NDArray[np.uint32],
    gaps: npt.NDArray[np.uint8],
    gaps16: npt.NDArray[np.uint16],
    gaps32: npt.NDArray[np.uint32],
    level: npt.NDArray[np.uint8],
) -> float:
    """Decode the postings of `terms` in a segment whose passages start at `start` (term j's are
    firsts[j]:indptr[terms[j] + 1]) into `docs`, as passages plus one, one term after the other;
    add level * step * times[j] (float32) to `after` at each. Returns the largest sum made.

    Gap coding as in `newsbot.index.compact.Compact`: a 0 gap is the term's next `gaps16` entry,
    itself 0 for its next `gaps32` entry."""
    out = 0
    high = np.float32(0)
    for j in range(len(terms)):
        term = terms[j]
        doc = np.int64(start)
        wide, widest = np.int64(at16[term]), np.int64(at32[term])
        weight = step[term] * times[j]
        for i in range(firsts[j], indptr[term + 1]):
            gap = np.int64(gaps[i])
            if gap == 0:
                gap = np.int64(gaps16[wide])
                wide += 1
                if gap == 0:
                    gap = np.int64(gaps32[widest])
                    widest += 1
            doc += gap
            docs[out] = doc
            out += 1
            score = after[doc] + np.float32(level[i]) * weight
            after[doc] = score
            high = max(high, score)
    return float(high)


@_compiled
def find_postings(
    docs: npt.NDArray[np.int32],
    starts: npt.NDArray[np.int64],
    wanted: npt.NDArray[np.int64],
    part: npt.NDArray[np.int64],
    col: npt.NDArray[np.int64],
    at: npt.NDArray[np.int64],
) -> int:
    """Which of `wanted` (ascending) each part of `docs` (part j is docs[starts[j]:starts[j + 1]],
    ascending) holds: per hit, in part order, its part, its position in `wanted` and its position
    in the part, written to `part`, `col` and `at` (room for every part times every wanted).
    Returns the number of hits."""
    hits = 0
    for j in range(len(starts) - 1):
        low, end = starts[j], starts[j + 1]
        for c in range(len(wanted)):
            high = end  # binary search from the last one found: `wanted` ascends
            while low < high:
                middle = (low + high) >> 1
                if docs[middle] < wanted[c]:
                    low = middle + 1
                else:
                    high = middle
            if low == end:
                break
            if docs[low] == wanted[c]:
                part[hits], col[hits], at[hits] = j, c, low - starts[j]
                hits += 1
    return hits


@_compiled
def by_term(
    terms: npt.NDArray[np.int32],
    passages: npt.NDArray[np.int64],
    postings: npt.NDArray[np.int64],
    order: npt.NDArray[np.int64],
    docs: npt.NDArray[np.int32],
) -> None:
    """Group forward positions by term, stably: term t's positions, ascending, go to
    order[postings[t]:postings[t + 1]] (the term's postings, counted beforehand), and the passage
    of each to `docs` at the same place. Passage d owns positions passages[d]:passages[d + 1]."""
    at = postings[:-1].copy()  # where each term's next position goes
    for d in range(len(passages) - 1):
        for i in range(passages[d], passages[d + 1]):
            slot = at[terms[i]]
            order[slot] = i
            docs[slot] = d
            at[terms[i]] = slot + 1
