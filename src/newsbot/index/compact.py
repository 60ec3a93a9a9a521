"""Postings stored small: about 1.6 bytes a posting for its passage and count (8 before), decoded
per query term with a few numpy passes.

Per term, its passages (ascending) are gaps from the previous one (the first from -1), one byte
each; most fit. A gap of 256 or more is a 0 there and its value is the term's next entry in
`gaps16`, itself 0 when the gap is 65536 or more, the value then in `gaps32`. Term counts are
mostly 1: one bit per posting (each term's bits start on a byte) says the count is more, and those
counts are the term's entries in `more` (255 or more: the count is in `big_tf`, at the position
in `more` that `big_at` lists).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Int32Array = npt.NDArray[np.int32]
IntArray = npt.NDArray[np.int64]
UInt32Array = npt.NDArray[np.uint32]
Counts = npt.NDArray[np.uint16]
_MORE_MAX = 255


@dataclass(frozen=True)
class Compact:
    """Every term's passages and counts; per-term arrays are indexed by term id (n_terms + 1)."""

    indptr: IntArray  # term t's postings are numbers indptr[t]:indptr[t + 1]
    gaps: npt.NDArray[np.uint8]  # per posting
    gaps16: npt.NDArray[np.uint16]  # the gaps of 256 or more (0: see gaps32)
    gaps32: UInt32Array  # the gaps of 65536 or more
    at16: UInt32Array  # term t's entries in gaps16 start at at16[t]
    at32: UInt32Array
    bits: npt.NDArray[np.uint8]  # per posting, "its count is more than 1"; per term from a byte
    at_bits: UInt32Array  # term t's bits start at byte at_bits[t]
    more: npt.NDArray[np.uint8]  # the counts of more than 1, up to 255
    at_more: UInt32Array
    big_at: IntArray  # positions in `more` of counts of 255 or more, ascending
    big_tf: Counts  # those counts

    @property
    def n_terms(self) -> int:
        return len(self.indptr) - 1

    def size(self, term: int) -> int:
        return int(self.indptr[term + 1]) - int(self.indptr[term]) if term < self.n_terms else 0

    def docs(self, term: int) -> IntArray:
        """The passages of `term`, ascending (int64: numpy indexes with those without a copy)."""
        if term >= self.n_terms:
            return np.zeros(0, dtype=np.int64)
        gaps = self.gaps[int(self.indptr[term]) : int(self.indptr[term + 1])]
        a16, b16 = int(self.at16[term]), int(self.at16[term + 1])
        if b16 > a16:
            gaps = gaps.astype(np.int32)
            wide = self.gaps16[a16:b16].astype(np.int32)
            a32, b32 = int(self.at32[term]), int(self.at32[term + 1])
            if b32 > a32:
                wide[wide == 0] = self.gaps32[a32:b32]
            gaps[gaps == 0] = wide
        docs = np.cumsum(gaps, dtype=np.int64)
        docs -= 1
        return docs

    def counts(self, term: int) -> Counts:
        """The counts of `term` in each of its passages."""
        n = self.size(term)
        tf = np.ones(n, dtype=np.uint16)
        if n:
            start = int(self.at_bits[term])
            flags = np.unpackbits(self.bits[start : start + (n + 7) // 8], count=n).view(bool)
            tf[flags] = self._more(term, np.arange(int(self.at_more[term + 1]) - int(self.at_more[term])))
        return tf

    def counts_at(self, term: int, at: npt.NDArray[np.integer[Any]]) -> Counts:
        """The counts of `term`'s postings numbered `at` (ascending, from 0 within the term)."""
        tf = np.ones(len(at), dtype=np.uint16)
        if not len(at) or int(self.at_more[term]) == int(self.at_more[term + 1]):
            return tf  # (most terms: every count is 1)
        start = int(self.at_bits[term])
        mine = self.bits[start + (at >> 3)]
        flagged = np.flatnonzero(mine & (128 >> (at & 7)))
        if len(flagged):
            some = at[flagged]
            data = self.bits[start : start + (int(some[-1]) >> 3)]
            before = np.zeros(len(data) + 1, dtype=np.int64)
            np.cumsum(np.bitwise_count(data), out=before[1:])
            # Set bits before each one: those of the earlier bytes, then of its byte's higher bits.
            rank = before[some >> 3] + np.bitwise_count(mine[flagged] >> (8 - (some & 7)).astype(np.uint8))
            tf[flagged] = self._more(term, rank)
        return tf

    def _more(self, term: int, rank: npt.NDArray[np.integer[Any]]) -> Counts:
        """The counts above 1 of `term` numbered `rank` (from 0 within the term)."""
        at = int(self.at_more[term]) + rank.astype(np.int64)
        tf = self.more[at].astype(np.uint16)
        wide = np.flatnonzero(tf == _MORE_MAX)
        if len(wide):
            tf[wide] = self.big_tf[np.searchsorted(self.big_at, at[wide])]
        return tf

    def all_counts(self) -> Counts:
        """Every posting's count, in posting order (for rebuilding a forward index)."""
        df = np.diff(self.indptr)
        n = int(self.indptr[-1])
        tf = np.ones(n, dtype=np.uint16)
        flags = np.unpackbits(np.asarray(self.bits)).view(bool)
        # Posting i of term t is bit at_bits[t] * 8 + (i - indptr[t]).
        shift = np.repeat(self.at_bits[:-1].astype(np.int64) * 8 - self.indptr[:-1], df)
        at = np.flatnonzero(flags[np.arange(n, dtype=np.int64) + shift])
        tf[at] = self.more.astype(np.uint16)
        wide = self.big_at
        tf[at[wide]] = self.big_tf
        return tf

    @classmethod
    def encode(cls, indptr: IntArray, docs: Int32Array, tf: Counts) -> Compact:
        """The postings whose passages (ascending per term) are `docs`, with counts `tf`, term t
        owning positions indptr[t]:indptr[t + 1]."""
        df = np.diff(indptr)
        n_terms = len(df)
        term = np.repeat(np.arange(n_terms, dtype=np.int32), df)
        gaps = docs.astype(np.int32)
        gaps[1:] -= docs[:-1]
        starts = indptr[:-1][df > 0]
        gaps[starts] = docs[starts].astype(np.int32) + 1
        wide = np.flatnonzero(gaps >= 256)
        gaps16 = gaps[wide]
        widest = np.flatnonzero(gaps16 >= 65536)
        gaps32 = gaps16[widest].astype(np.uint32)
        gaps16[widest] = 0
        gaps[wide] = 0
        flagged = np.flatnonzero(tf > 1)
        at_bits = _offsets((df + 7) // 8)
        bits = np.zeros(int(at_bits[-1]) * 8, dtype=bool)
        bits[flagged + (at_bits[:-1].astype(np.int64) * 8 - indptr[:-1])[term[flagged]]] = True
        more = tf[flagged]
        big_at = np.flatnonzero(more >= _MORE_MAX)
        return cls(
            indptr=indptr,
            gaps=gaps.astype(np.uint8),
            gaps16=gaps16.astype(np.uint16),
            gaps32=gaps32,
            at16=_offsets(np.bincount(term[wide], minlength=n_terms)),
            at32=_offsets(np.bincount(term[wide[widest]], minlength=n_terms)),
            bits=np.packbits(bits),
            at_bits=at_bits,
            more=np.minimum(more, _MORE_MAX).astype(np.uint8),
            at_more=_offsets(np.bincount(term[flagged], minlength=n_terms)),
            big_at=big_at.astype(np.int64),
            big_tf=more[big_at].astype(np.uint16),
        )


def _offsets(sizes: npt.NDArray[np.integer[Any]]) -> UInt32Array:
    """Run offsets as uint32: a segment holds fewer than 2**32 postings (see `bm25.invert`)."""
    out = np.zeros(len(sizes) + 1, dtype=np.uint32)
    out[1:] = np.cumsum(sizes)
    return out
