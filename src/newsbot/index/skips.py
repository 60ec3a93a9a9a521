"""Skip data for long postings: one term's postings in one segment cut in blocks of `BLOCK`, with
each block's last passage and highest 8-bit level, so a query can decode only the blocks it needs.

The passages are stored as gaps (`newsbot.index.compact`): to start decoding in the middle of a
term, a block needs the passage before it (the previous block's last) and where its wide gaps are
in `gaps16` and `gaps32`. Worked out from one full decode of the term the first time a query
needs it, then kept with the segment (about 0.2 bytes a posting of the terms queried): the
on-disk format stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from newsbot.index.compact import Compact

IntArray = npt.NDArray[np.int64]
BLOCK = 128  # postings a block


@dataclass(frozen=True)
class Skips:
    """One term's blocks in one segment (block b: the term's postings b * BLOCK onwards)."""

    last: IntArray  # per block: its last passage plus one (as `Compact.docs_after`)
    high: npt.NDArray[np.uint8]  # per block: its highest level
    at16: IntArray  # per block: where its wide gaps start in `gaps16`
    at32: IntArray  # and in `gaps32`

    @classmethod
    def of(cls, postings: Compact, level: npt.NDArray[np.uint8], term: int) -> Skips:
        """The blocks of `term` (which must have postings), from one full decode."""
        docs = postings.docs_after(term)
        first, n = int(postings.indptr[term]), len(docs)
        starts = np.arange(0, n, BLOCK)
        gaps = postings.gaps[first : first + n]
        wide = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(gaps == 0, out=wide[1:])
        a16, b16 = int(postings.at16[term]), int(postings.at16[term + 1])
        widest = np.zeros(b16 - a16 + 1, dtype=np.int64)
        np.cumsum(postings.gaps16[a16:b16] == 0, out=widest[1:])
        return cls(
            last=docs[np.minimum(starts + BLOCK, n) - 1],
            high=np.maximum.reduceat(level[first : first + n], starts),
            at16=a16 + wide[starts],
            at32=int(postings.at32[term]) + widest[wide[starts]],
        )

    def decode(self, postings: Compact, term: int, blocks: npt.NDArray[np.intp]) -> tuple[IntArray, IntArray]:
        """The passages plus one (ascending) of these blocks (ascending, distinct), and their
        posting numbers (across terms, as `Compact.tf_of` takes them)."""
        first = int(postings.indptr[term])
        n = int(postings.indptr[term + 1]) - first
        starts = blocks * BLOCK
        sizes = np.minimum(starts + BLOCK, n) - starts
        ends = np.cumsum(sizes)
        begins = ends - sizes
        where = np.arange(int(ends[-1]), dtype=np.int64)
        where += np.repeat(starts + first - begins, sizes)
        gaps = postings.gaps[where].astype(np.int64)
        wide = np.flatnonzero(gaps == 0)
        if len(wide):
            gaps[wide] = self._wide(postings, blocks, begins, wide)
        # Each block starts from the one before it; a running sum, less what earlier blocks added.
        gaps[begins] += np.where(blocks > 0, self.last[blocks - 1], 0)
        docs = np.cumsum(gaps, out=gaps)
        before = np.zeros(len(blocks), dtype=np.int64)
        before[1:] = docs[ends[:-1] - 1]
        docs -= np.repeat(before, sizes)
        return docs, where

    def _wide(
        self, postings: Compact, blocks: npt.NDArray[np.intp], begins: IntArray, wide: IntArray
    ) -> IntArray:
        """The values of the wide gaps at positions `wide` of a decode of `blocks`."""
        block = np.searchsorted(begins, wide, side="right") - 1
        rank = np.arange(len(wide)) - np.searchsorted(wide, begins)[block]
        values = postings.gaps16[self.at16[blocks][block] + rank].astype(np.int64)
        widest = np.flatnonzero(values == 0)
        if len(widest):
            of = block[widest]
            rank32 = np.arange(len(widest)) - np.searchsorted(of, np.arange(len(blocks)))[of]
            values[widest] = postings.gaps32[self.at32[blocks][of] + rank32]
        return values
