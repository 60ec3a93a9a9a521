"""Postings stored small: about 1.8 bytes a posting for its passage and count (4 before), decoded
per query term with a few numpy passes.

Per term, its passages (ascending) are gaps from the previous one (the first from -1), one byte
each; most fit. A gap of 256 or more is a 0 there and its value is the term's next entry in
`gaps16`, itself 0 when the gap is 65536 or more, the value then in `gaps32`. Term counts are
mostly 1: four bits each (posting i in byte i // 2, the low half for even i); 15 says the count is
15 or more, and is in `big_tf` (at the position of posting i in `big_at`). The exact pass reads
a few counts of each query term: a gather, no running sums.
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
_WIDE = 15  # a count in 4 bits: 15 or more is in `big_tf`


@dataclass(frozen=True)
class Compact:
    """Every term's passages and counts; per-term arrays are indexed by term id (n_terms + 1)."""

    indptr: IntArray  # term t's postings are numbers indptr[t]:indptr[t + 1]
    gaps: npt.NDArray[np.uint8]  # per posting
    gaps16: npt.NDArray[np.uint16]  # the gaps of 256 or more (0: see gaps32)
    gaps32: UInt32Array  # the gaps of 65536 or more
    at16: UInt32Array  # term t's entries in gaps16 start at at16[t]
    at32: UInt32Array
    tf4: npt.NDArray[np.uint8]  # per posting, its count in 4 bits (15: see big_tf)
    big_at: IntArray  # the postings with counts of 15 or more, ascending
    big_tf: Counts  # those counts

    @property
    def n_terms(self) -> int:
        return len(self.indptr) - 1

    def docs(self, term: int, first: int | None = None) -> IntArray:
        """The passages of `term`, ascending (int64: numpy indexes with those without a copy);
        with `first`, only the first so many of them (the rest is not decoded). The search
        decodes all its terms' postings at once instead (`newsbot.index.rough`)."""
        if term >= self.n_terms:
            return np.zeros(0, dtype=np.int64)
        start, end = int(self.indptr[term]), int(self.indptr[term + 1])
        gaps = self.gaps[start : end if first is None else min(end, start + first)]
        wide = self._wide(term, gaps)
        if wide is None:
            docs = np.cumsum(gaps, dtype=np.int64)
        else:
            docs = gaps.astype(np.int64)
            docs[wide[0]] = wide[1]
            np.cumsum(docs, out=docs)
        docs -= 1  # the first gap is from -1
        return docs

    def starts(self, terms: npt.NDArray[np.integer[Any]], first: int) -> tuple[IntArray, IntArray]:
        """`docs(t, first)` of each of `terms` at once, one after the other, and where each one's
        run begins (CSR offsets, len(terms) + 1): numpy passes instead of a call per term (a
        reindex asks this of ~2,000 terms, ~20 us each one at a time)."""
        wanted = np.asarray(terms, dtype=np.int64)
        inside = wanted < self.n_terms
        wanted = np.where(inside, wanted, 0)
        begin = self.indptr[wanted].astype(np.int64)
        sizes = np.where(inside, np.minimum(self.indptr[wanted + 1] - begin, first), 0)
        bounds = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=bounds[1:])
        owner = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
        gaps = self.gaps[begin[owner] + np.arange(int(bounds[-1]), dtype=np.int64) - bounds[owner]]
        gaps = gaps.astype(np.int64)
        zero = np.flatnonzero(gaps == 0)  # a wide gap: in gaps16 (or gaps32), in the term's order
        if len(zero):
            held = owner[zero]
            before = np.zeros(len(gaps) + 1, dtype=np.int64)  # wide gaps before each position
            np.cumsum(gaps == 0, out=before[1:])
            wide = self.gaps16[self.at16[wanted[held]] + before[zero] - before[bounds[held]]].astype(np.int64)
            widest = wide == 0
            if widest.any():  # the same again, among the term's wide gaps: all of them are here
                ahead = np.zeros(len(zero) + 1, dtype=np.int64)
                np.cumsum(widest, out=ahead[1:])
                run = np.searchsorted(zero, bounds[held])  # the term's first wide gap among `zero`
                at = np.flatnonzero(widest)
                wide[at] = self.gaps32[self.at32[wanted[held[at]]] + ahead[at] - ahead[run[at]]]
            gaps[zero] = wide
        summed = np.cumsum(gaps)
        docs = summed - 1  # the first gap is from -1
        if len(sizes):
            docs -= np.concatenate([[0], summed])[bounds[:-1]][owner]
        return docs, bounds

    def _wide(self, term: int, gaps: npt.NDArray[np.uint8]) -> tuple[IntArray, IntArray] | None:
        """Where `gaps` (the term's, or their start) hold 0 and the gaps of 256 or more that go
        there; None when the term has none."""
        a16, b16 = int(self.at16[term]), int(self.at16[term + 1])
        if b16 == a16:
            return None
        at = np.flatnonzero(gaps == 0)
        wide = self.gaps16[a16 : a16 + len(at)].astype(np.int64)
        a32, b32 = int(self.at32[term]), int(self.at32[term + 1])
        if b32 > a32:
            widest = wide == 0
            wide[widest] = self.gaps32[a32 : a32 + int(np.count_nonzero(widest))]
        return at, wide

    def counts(self, term: int) -> Counts:
        """The counts of `term` in each of its passages."""
        if term >= self.n_terms:
            return np.zeros(0, dtype=np.uint16)
        return self.tf_of(np.arange(int(self.indptr[term]), int(self.indptr[term + 1])))

    def counts_at(self, term: int, at: npt.NDArray[np.integer[Any]]) -> Counts:
        """The counts of `term`'s postings numbered `at` (from 0 within the term)."""
        return self.tf_of(int(self.indptr[term]) + at)

    def all_counts(self) -> Counts:
        """Every posting's count, in posting order (for rebuilding a forward index)."""
        return self.tf_of(np.arange(int(self.indptr[-1])))

    def tf_of(self, postings: npt.NDArray[np.integer[Any]]) -> Counts:
        """The counts of postings numbered `postings` (of any terms, numbered across them)."""
        tf = (self.tf4[postings >> 1] >> ((postings & 1) << 2).astype(np.uint8)) & np.uint8(15)
        counts: Counts = tf.astype(np.uint16)
        wide = np.flatnonzero(tf == _WIDE)
        if len(wide):
            counts[wide] = self.big_tf[np.searchsorted(self.big_at, postings[wide])]
        return counts

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
        wide_tf = np.flatnonzero(tf >= _WIDE)
        nibbles = np.minimum(tf, _WIDE).astype(np.uint8)
        if len(nibbles) % 2:
            nibbles = np.append(nibbles, np.uint8(0))
        tf4: npt.NDArray[np.uint8] = nibbles[0::2] | (nibbles[1::2] << np.uint8(4))
        return cls(
            indptr=indptr,
            gaps=gaps.astype(np.uint8),
            gaps16=gaps16.astype(np.uint16),
            gaps32=gaps32,
            at16=_offsets(np.bincount(term[wide], minlength=n_terms)),
            at32=_offsets(np.bincount(term[wide[widest]], minlength=n_terms)),
            tf4=tf4,
            big_at=wide_tf.astype(np.int64),
            big_tf=tf[wide_tf].astype(np.uint16),
        )


def _offsets(sizes: npt.NDArray[np.integer[Any]]) -> UInt32Array:
    """Run offsets as uint32: a segment holds fewer than 2**32 postings (see `bm25.invert`)."""
    out = np.zeros(len(sizes) + 1, dtype=np.uint32)
    out[1:] = np.cumsum(sizes)
    return out
