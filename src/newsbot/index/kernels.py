"""The search's inner loop, compiled (numba): decoding a segment's postings of the query terms and
adding up their rough weights, one pass over each posting.

In numpy the same work took five passes (widening copy, wide gaps put back, running sum, weights,
`np.add.at`), ~4 ns a posting: most of a query's time at 2M passages, where a question touches
about 1.5M postings. The loop releases the GIL, so segments can be added up in threads.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit


@njit(cache=True, nogil=True)
def add_postings(
    after: npt.NDArray[np.float32],
    docs: npt.NDArray[np.int32],
    start: int,
    gaps: npt.NDArray[np.uint8],
    gaps16: npt.NDArray[np.uint16],
    gaps32: npt.NDArray[np.uint32],
    level: npt.NDArray[np.uint8],
    firsts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    at16: npt.NDArray[np.int64],
    at32: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float32],
) -> None:
    """For each part j (a term's postings firsts[j]:ends[j] in a segment whose passages start at
    `start`): decode its passages plus one into `docs` (the parts in turn) and add
    level * weights[j] to `after` at each. Gap coding as in `newsbot.index.compact.Compact`:
    a 0 gap is the term's next `gaps16` entry (from at16[j]), itself 0 for the next `gaps32`."""
    out = 0
    for j in range(len(firsts)):
        doc = np.int64(start)
        wide, widest, weight = at16[j], at32[j], weights[j]
        for i in range(firsts[j], ends[j]):
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
            after[doc] += np.float32(level[i]) * weight


@njit(cache=True, nogil=True)
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
