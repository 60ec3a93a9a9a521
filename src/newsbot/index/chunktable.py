"""The distinct chunks of text an analysis process has met, numbered, in compiled code.

An analysis worker (see `newsbot.index.workers`) turns a batch's text into chunks (runs of
bytes between spaces) and each chunk into its number: the first one met gets the next number,
and its terms are worked out once, in Python. Done with a `dict` of `str`, this cost ~180 ns a
chunk (a `str` made by `split`, hashed, then a lookup that misses the cache twice on a dict of
a million chunks): a fifth of a cold build's CPU. Here one compiled pass over the UTF-8 bytes
hashes each chunk and finds it in an open-addressing table whose chunks' bytes sit side by
side in one array (`arena`), each followed by a space, so that the new ones of a batch come
back as one `bytes.split`.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

from newsbot.index.kernels import _compiled as compiled

SPACE = 32
G = TypeVar("G", bound=np.generic)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_SHIFT = np.uint64(29)


@compiled
def _number_chunks(
    data: npt.NDArray[np.uint8],
    pos: int,
    end: npt.NDArray[np.uint8],
    slots: npt.NDArray[np.int32],
    hashes: npt.NDArray[np.uint64],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    arena: npt.NDArray[np.uint8],
    state: npt.NDArray[np.int64],
    out: npt.NDArray[np.int32],
) -> int:
    """Number the chunks of `data` from byte `pos` on, writing each one's number to `out`
    (0 for a chunk equal to `end`); a chunk not met before gets number state[0] and its bytes
    go to `arena` at state[1]; state[2] counts the numbers written. Returns where it stopped:
    len(data), or a chunk's start when the table needs room (the caller grows it, calls again)."""
    n, used, written = state[0], state[1], state[2]
    mask = np.uint64(len(slots) - 1)
    size = len(data)
    while pos < size:
        gap = _gap(data, pos, size)
        if gap:
            pos += gap
            continue
        first = pos
        h = _FNV_OFFSET
        while pos < size and not _gap(data, pos, size):
            h = (h ^ np.uint64(data[pos])) * _FNV_PRIME
            pos += 1
        length = pos - first
        if length == len(end) and _same(data, first, end, 0, length):
            out[written] = 0
            written += 1
            continue
        h ^= h >> _SHIFT
        s = h & mask
        chunk = slots[s]
        while chunk != 0 and not (
            hashes[chunk] == h
            and lengths[chunk] == length
            and _same(data, first, arena, starts[chunk], length)
        ):
            s = (s + np.uint64(1)) & mask
            chunk = slots[s]
        if chunk == 0:
            if 2 * n >= len(slots) or n >= len(hashes) or used + length + 1 > len(arena):
                pos = first  # no room: this chunk again after the caller grows the table
                break
            chunk = n
            n += 1
            slots[s], hashes[chunk], starts[chunk], lengths[chunk] = chunk, h, used, length
            arena[used : used + length] = data[first:pos]
            arena[used + length] = SPACE
            used += length + 1
        out[written] = chunk
        written += 1
    state[0], state[1], state[2] = n, used, written
    return pos


@compiled
def _gap(data: npt.NDArray[np.uint8], pos: int, size: int) -> int:
    """The length of the separator at data[pos] (0: none): a space, or in UTF-8 the commonest
    of `analyzer._PUNCTUATION` (– — ‘ ’ “ ” …) or whitespace other than ASCII's (which
    `workers._plain_ascii` made spaces already); the same as `workers._plain` replaces."""
    c = data[pos]
    if c == SPACE:
        return 1
    if c < 0xC2:
        return 0
    b = data[pos + 1] if pos + 1 < size else 0
    if c == 0xC2:
        return 2 if b == 0x85 or b == 0xA0 else 0
    t = data[pos + 2] if pos + 2 < size else 0
    if c == 0xE2 and b == 0x80:
        wide = t <= 0x8A or t == 0xA8 or t == 0xA9 or t == 0xAF  # U+2000-U+200A, U+2028, U+2029, U+202F
        quote = t == 0x93 or t == 0x94 or t == 0x98 or t == 0x99 or t == 0x9C or t == 0x9D or t == 0xA6
        return 3 if (wide or quote) and t >= 0x80 else 0
    if (c == 0xE2 and b == 0x81 and t == 0x9F) or (c == 0xE1 and b == 0x9A and t == 0x80):
        return 3
    return 3 if c == 0xE3 and b == 0x80 and t == 0x80 else 0


@compiled
def _same(a: npt.NDArray[np.uint8], i: int, b: npt.NDArray[np.uint8], j: int, length: int) -> bool:
    for k in range(length):  # noqa: SIM110 - numba compiles loops, not generators
        if a[i + k] != b[j + k]:
            return False
    return True


@compiled
def _rehash(slots: npt.NDArray[np.int32], hashes: npt.NDArray[np.uint64], n: int) -> None:
    mask = np.uint64(len(slots) - 1)
    for chunk in range(1, n):
        s = hashes[chunk] & mask
        while slots[s] != 0:
            s = (s + np.uint64(1)) & mask
        slots[s] = chunk


@compiled
def _count_terms(
    numbers: npt.NDArray[np.int32],
    start: npt.NDArray[np.int64],
    size: npt.NDArray[np.int64],
    flat: npt.NDArray[np.int32],
    seen: npt.NDArray[np.int64],
    terms: npt.NDArray[np.int32],
    counts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
) -> int:
    """Each passage's distinct terms in order of first occurrence and their counts, written to
    `terms` and `counts`, and their number per passage to `lengths`, for chunks `numbers` whose
    passages end with chunk 0 (chunk c's terms: flat[start[c]:start[c] + size[c]]). `seen`
    (-1 for every term) keeps where each term went for the passage being counted. Returns how
    many were written."""
    passage, out, first = 0, 0, 0
    for i in range(len(numbers)):
        chunk = numbers[i]
        if chunk == 0:
            lengths[passage] = out - first
            passage += 1
            first = out
            continue
        for k in range(start[chunk], start[chunk] + size[chunk]):
            term = flat[k]
            at = seen[term]
            if at >= first:
                counts[at] += 1
            else:
                seen[term] = out
                terms[out], counts[out] = term, 1
                out += 1
    return out


@compiled
def _rank_terms(
    terms: npt.NDArray[np.int32], tally: npt.NDArray[np.int32], ranks: npt.NDArray[np.uint16]
) -> None:
    """Each of `terms`' rank among the same term's earlier positions, into `ranks`; `tally`
    (zero for every term) counts them, and is left zero again."""
    for i in range(len(terms)):
        term = terms[i]
        ranks[i] = tally[term]
        tally[term] += 1
    for i in range(len(terms)):
        tally[terms[i]] = 0


class ChunkTable:
    """chunk (bytes without spaces) -> its number, from 1 in order of first sight; 0 is the
    batch's end marker. `number` gives a batch's numbers and the chunks it met first."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every chunk (numbering starts again from 1)."""
        self._slots = np.zeros(1 << 16, dtype=np.int32)
        self._hashes = np.zeros(1 << 15, dtype=np.uint64)
        self._starts = np.zeros(1 << 15, dtype=np.int64)
        self._lengths = np.zeros(1 << 15, dtype=np.int64)
        self._arena = np.zeros(1 << 20, dtype=np.uint8)
        self._state = np.array([1, 0, 0], dtype=np.int64)  # next number, arena used, written

    def __len__(self) -> int:
        return int(self._state[0]) - 1

    def number(self, data: bytes, end: bytes) -> tuple[npt.NDArray[np.int32], list[bytes]]:
        """The number of each chunk of `data` (cut at spaces), in order, and the chunks met for
        the first time, in order of their numbers (the first of them numbered len(self) + 1
        before the call)."""
        state = self._state
        before = int(state[1])
        if len(self._arena) < before + len(data) + 1:  # room for every chunk of `data` (and a space each)
            self._arena = _grown(self._arena, before + len(data) + 1)
        text = np.frombuffer(data, dtype=np.uint8)
        marker = np.frombuffer(end, dtype=np.uint8)
        out = np.empty(len(data) // 2 + 1, dtype=np.int32)
        state[2] = 0
        pos = 0
        while True:
            room = self._slots, self._hashes, self._starts, self._lengths, self._arena
            pos = _number_chunks(text, pos, marker, *room, state, out)
            if pos >= len(data):
                break
            self._make_room()
        new = self._arena[before : int(state[1])].tobytes().split(b" ")[:-1]
        return out[: int(state[2])], new

    def _make_room(self) -> None:
        n = int(self._state[0])
        if n >= len(self._hashes):
            self._hashes = _grown(self._hashes, 2 * n)
            self._starts = _grown(self._starts, 2 * n)
            self._lengths = _grown(self._lengths, 2 * n)
        if 2 * n >= len(self._slots):
            self._slots = np.zeros(2 * len(self._slots), dtype=np.int32)
            _rehash(self._slots, self._hashes, n)


def _grown(array: npt.NDArray[G], at_least: int) -> npt.NDArray[G]:
    bigger = np.zeros(max(at_least, 2 * len(array)), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


def count_terms(
    numbers: npt.NDArray[np.int32],
    start: npt.NDArray[np.int64],
    size: npt.NDArray[np.int64],
    flat: npt.NDArray[np.int32],
    n_terms: int,
    n_passages: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each passage's distinct term ids in order of first occurrence, their counts, and the
    number of them per passage, for a batch numbered by `ChunkTable.number` (its passages end
    with chunk 0) whose chunks' terms (ids below `n_terms`) are in `flat` (see `_count_terms`):
    one pass, no sort."""
    room = int(size[numbers].sum())
    terms = np.empty(room, dtype=np.int32)
    counts = np.empty(room, dtype=np.int64)
    lengths = np.zeros(n_passages, dtype=np.int64)
    seen = np.full(n_terms, -1, dtype=np.int64)
    written = _count_terms(numbers, start, size, flat, seen, terms, counts, lengths)
    return terms[:written], counts[:written], lengths


def rank_terms(terms: npt.NDArray[np.int32], tally: npt.NDArray[np.int32]) -> npt.NDArray[np.uint16]:
    """Each position's rank among the batch's positions of the same term (see `bm25.by_term`),
    for a batch of at most 65,536 passages (a term is at most once in a passage); `tally`: zeros,
    one per term id, as they are left."""
    ranks = np.empty(len(terms), dtype=np.uint16)
    _rank_terms(terms, tally, ranks)
    return ranks


def load() -> None:
    """Load every compiled function (from numba's cache, or compiled) now, when an analysis
    worker starts, rather than one at a time in its batches (the table's growth, say)."""
    ChunkTable().number(b"a", b"\x00")
    _rehash(np.zeros(2, dtype=np.int32), np.zeros(1, dtype=np.uint64), 0)
    one = np.zeros(1, dtype=np.int64)
    count_terms(np.zeros(1, dtype=np.int32), one, one, np.zeros(1, dtype=np.int32), 0, 1)
    rank_terms(np.zeros(1, dtype=np.int32), np.zeros(1, dtype=np.int32))
