"""The search's two passes over postings, a segment at a time, all query terms at once (see
`newsbot.index.search`).

First pass: the query terms' postings in a segment are decoded, into one array of index-wide
passages (plus one), and their rough weights added up per passage, in one compiled loop
(`newsbot.index.kernels`); the segment's slice of the rough scores (1 MB for 250k passages) stays
in the core's cache meanwhile. Second pass: the few passages still in the running are looked up
in those arrays, for the exact weights.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from newsbot.index.bm25 import Float32Array, FloatArray, Int32Array, IntArray, Postings, weigh

if TYPE_CHECKING:
    from newsbot.index.store import Index

SHARED_POSTINGS = 400_000  # from this many postings a question, two threads add them up (`_share`)
SHARED_VALUES = 1_000_000  # from this many passages, two threads find those over a bar (`over`)


@dataclass(frozen=True)
class Decoded:
    """The query terms' postings in one segment: `docs` holds each term's part in turn."""

    number: int  # the segment's number in `index.parts`
    docs: Int32Array  # index-wide passages plus one, ascending within each part (see `_Room`)
    starts: IntArray  # part j is docs[starts[j]:starts[j + 1]]
    rows: IntArray  # per part: its term's row (position in the query's distinct terms)
    firsts: IntArray  # per part: the number of its first posting in the segment


def rough_scores(index: Index, repeats: Mapping[int, int]) -> tuple[Float32Array, float, list[Decoded]]:
    """Each passage's rough score (float32) at its number plus one, the largest of them, and the
    postings decoded.

    `repeats`: each query term (idf > 0) with how many times the query has it. The rough weights
    are the 8-bit levels times the term's step in each segment (`Postings.step`), as float32.
    With many postings to add up, the segments are shared with a second thread (`_share`).
    """
    from newsbot.index.kernels import add_postings  # numba: loaded by the first search, not by every command

    after = np.zeros(index.n_passages + 1, dtype=np.float32)
    terms = np.fromiter(repeats, dtype=np.int64, count=len(repeats))
    times = np.fromiter(repeats.values(), dtype=np.float32, count=len(repeats))
    room = _Room.of_this_thread()
    decoded = [
        d for n, (s, p) in enumerate(index.parts) if (d := _plan(n, s.start, p, terms, room)) is not None
    ]
    postings = [index.parts[found.number][1] for found in decoded]

    def add(which: list[int]) -> float:
        high = 0.0
        for i in which:
            found, inverted = decoded[i], postings[i].inverted
            compact = inverted.postings
            high = max(high, add_postings(
                after, found.docs, index.segments[found.number].start, terms[found.rows], times[found.rows],
                postings[i].step, found.firsts, compact.indptr, compact.at16, compact.at32,
                compact.gaps, compact.gaps16, compact.gaps32, inverted.level,
            ))  # fmt: skip
        return high

    return after, _share(add, [len(found.docs) for found in decoded]), decoded


def _plan(number: int, start: int, postings: Postings, terms: IntArray, room: _Room) -> Decoded | None:
    """Where the query terms' postings in one segment (passages from `start`) will be decoded; None
    when the segment has none."""
    indptr = postings.inverted.postings.indptr
    rows = np.flatnonzero(terms < len(indptr) - 1)
    firsts = indptr[terms[rows]]
    starts = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(indptr[terms[rows] + 1] - firsts, out=starts[1:])
    if not starts[-1]:
        return None
    return Decoded(number=number, docs=room.take(int(starts[-1])), starts=starts, rows=rows, firsts=firsts)


def _share(add: Callable[[list[int]], float], sizes: list[int]) -> float:
    """`add` over all of `sizes`' segments, the largest of its results: in this thread alone, or,
    with at least `SHARED_POSTINGS` to add, with a second thread taking about half of them (the
    compiled loop lets go of the GIL; each segment writes only its own passages' scores).
    Splitting costs ~0.1 ms, so small searches are not split."""
    everything = list(range(len(sizes)))
    if sum(sizes) < SHARED_POSTINGS or len(sizes) < 2 or _cores() < 2:
        return add(everything)
    mine: list[int] = []
    theirs: list[int] = []
    load = [0, 0]
    for i in sorted(everything, key=lambda i: -sizes[i]):  # the biggest first, each to the lighter side
        side = 0 if load[0] <= load[1] else 1
        (mine, theirs)[side].append(i)
        load[side] += sizes[i]
    other = _helper().submit(add, theirs)
    return max(add(mine), other.result())


def over(values: Float32Array, low: np.float32, strict: bool = False) -> IntArray:
    """`np.flatnonzero(values >= low)` (`> low` if `strict`): over many values (the rough scores
    of a big index: ~0.7 ms at 2.1M), each half in its own thread."""
    if len(values) < SHARED_VALUES or _cores() < 2:
        return np.flatnonzero(values > low if strict else values >= low)
    half = len(values) // 2
    other = _helper().submit(lambda: np.flatnonzero(values[half:] > low if strict else values[half:] >= low))
    mine = np.flatnonzero(values[:half] > low if strict else values[:half] >= low)
    return np.concatenate([mine, other.result() + half])


@functools.cache
def _cores() -> int:
    """The machine's cores (`os.cpu_count` reads /sys: ~50 us, asked once)."""
    return os.cpu_count() or 1


_helpers: dict[int, ThreadPoolExecutor] = {}  # per process id: a forked child needs its own thread
_making_helper = threading.Lock()


def _helper() -> ThreadPoolExecutor:
    """The second thread of this process's searches (made on first use; searches in several
    threads share it, queueing their halves)."""
    pid = os.getpid()
    with _making_helper:
        if pid not in _helpers:
            _helpers.clear()
            _helpers[pid] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsbot-search")
        return _helpers[pid]


class _Room:
    """Where a thread's searches decode postings: one buffer kept and handed out in pieces. A new
    array per segment and query cost more than the decoding: at 2M passages a question decodes
    ~1.5M postings, and each fresh page of an array that big is a page fault (~2,600 a question).
    The buffer keeps the size of the thread's biggest question: 4 bytes a posting (6 MB at 2M
    passages, ~30 MB at 10M)."""

    _threads = threading.local()

    def __init__(self) -> None:
        self.buffer: Int32Array = np.empty(1 << 16, dtype=np.int32)
        self.used = 0

    @classmethod
    def of_this_thread(cls) -> _Room:
        """This thread's room, emptied: what the last search took from it is no longer used."""
        room: _Room | None = getattr(cls._threads, "room", None)
        if room is None:
            room = cls._threads.room = cls()
        room.used = 0
        return room

    def take(self, n: int) -> Int32Array:
        """`n` int32s nobody else uses until this thread's next search. When the buffer is full,
        a bigger one replaces it: the pieces already handed out keep the old one alive."""
        if self.used + n > len(self.buffer):
            self.buffer = np.empty(max(2 * len(self.buffer), self.used + n), dtype=np.int32)
            self.used = 0
        piece = self.buffer[self.used : self.used + n]
        self.used += n
        return piece


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
    room = (len(found.starts) - 1) * len(wanted)
    part, col, at = (
        np.empty(room, dtype=np.int64),
        np.empty(room, dtype=np.int64),
        np.empty(room, dtype=np.int64),
    )
    from newsbot.index.kernels import find_postings

    hits = find_postings(found.docs, found.starts, np.ascontiguousarray(wanted), part, col, at)
    part, col, at = part[:hits], col[:hits], at[:hits]
    return found.rows[part], col, at + found.firsts[part]
