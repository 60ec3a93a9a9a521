"""An analysis process's distinct chunks of text (see `workers._Analysis`), each numbered when
first met and its terms' ids kept in flat arrays: a batch's chunks become numbers, and each
passage's distinct terms and counts come from those arrays with no Python per word."""

from __future__ import annotations

import itertools
from array import array
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from newsbot.index.tables import Table

if TYPE_CHECKING:  # (imported when used: numba, which they load, costs a process 0.2 s)
    from newsbot.index.chunktable import ChunkTable
    from newsbot.index.workers import _Analysis

Int64s = npt.NDArray[np.int64]

_MAX_CHUNKS = 2_000_000  # distinct chunks remembered (~200 MB); then they are forgotten


class Chunks(dict[str, int]):
    """chunk -> its number; a new chunk is analysed once, its terms' ids put in `flat` (chunk c
    has flat[start[c]:start[c] + size[c]]). Number 0 is the passage end.

    With `compiled`, the chunks are numbered by a `ChunkTable` over the batch's UTF-8 bytes
    (`count_bytes`: an analysis worker's, ~35 ns a chunk) and this dict stays empty; else by
    this dict (`count`: ~120 ns a chunk with `str.split`, but no compiled code to load, which
    costs a fresh process more than a small reindex's whole analysis)."""

    def __init__(self, analysis: _Analysis, compiled: bool = False) -> None:
        super().__init__()
        self.analysis = analysis
        self.table: ChunkTable | None = None
        if compiled:
            from newsbot.index import chunktable, spacing

            # Every compiled function loaded (or compiled) now, on arrays of its own: compiling
            # on views of `start` and the like would keep them exported, and they could not grow.
            chunktable.load()
            spacing.load()
            self.table = chunktable.ChunkTable()
        self.start = array("q", [0])
        self.size = array("q", [1])
        self.flat = array("i", [-1])
        self.tally = np.zeros(0, dtype=np.int32)  # zeros, one a term id (see `ranks`)

    def __missing__(self, chunk: str) -> int:
        ids = [self.analysis.term_id(t) for t in self.analysis.analyzer.chunk_terms(chunk)]
        n = self[chunk] = len(self.start)
        self.start.append(len(self.flat))
        self.size.append(len(ids))
        self.flat.extend(ids)
        return n

    def learn(self, chunks: list[str]) -> None:
        """Number the chunks not met yet, in order of first occurrence, at once when the plain
        words' stems can be looked up in a saved stem table (a reindex's: see `_take`)."""
        if not isinstance(self.analysis.analyzer.known_stems, Table):
            return
        new = [c for c in dict.fromkeys(chunks) if c not in self]
        if new:
            self.update(zip(new, range(len(self.start), len(self.start) + len(new)), strict=True))
            self._take(new)

    def _take(self, new: list[str]) -> None:
        """The terms of `new`, chunks met for the first time, numbered from len(self.start) on.
        With a saved stem table, the plain words' stems are looked up all at once (one
        vectorised search instead of a bisection and the analyzer's calls per word, most of a
        few hundred articles' analysis). A plain word is an ASCII letters-and-digits chunk, or
        one with dots after it only (a sentence's last word): either way its one token
        (`TOKEN_PATTERN`). The rest (punctuation, words the table lacks) go through the
        analyzer. The term ids are given in order of first occurrence (as `term_id` one by one
        would) and the flat arrays grow from numpy."""
        analyzer = self.analysis.analyzer
        table = analyzer.known_stems
        if isinstance(table, Table):
            # A plain word's stem from the table; stopwords never have one there (the stemmer
            # never sees them): a stem found for one would not be used either. Words past the
            # table's width are not found, so none too long for a term (`MAX_TOKEN_LENGTH`) is.
            words = [c.rstrip(".") for c in new]
            plain = [w for w in dict.fromkeys(words) if w.isascii() and w.isalnum()]
            known = {w: s or None for w, s in zip(plain, table.get_many(plain), strict=True)}
            known.update(dict.fromkeys(analyzer.stopwords.intersection(known), ""))  # no term
            stems = list(map(known.get, words))  # None: not plain, or not in the table
            terms: list[tuple[str, ...]] = [(stem,) if stem else () for stem in stems]
            for n in [n for n, stem in enumerate(stems) if stem is None]:
                terms[n] = analyzer.chunk_terms(new[n])
        else:
            terms = list(map(analyzer.chunk_terms, new))
        met = list(itertools.chain.from_iterable(terms))
        ids, numbered = self.analysis.ids, self.analysis.terms
        unseen = [t for t in dict.fromkeys(met) if t not in ids]
        ids.update(zip(unseen, range(len(numbered), len(numbered) + len(unseen)), strict=True))
        numbered.extend(unseen)
        sizes = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
        starts = len(self.flat) + np.cumsum(sizes) - sizes
        self.start.frombytes(starts.tobytes())
        self.size.frombytes(sizes.tobytes())
        self.flat.frombytes(np.fromiter(map(ids.__getitem__, met), dtype=np.int32, count=len(met)).tobytes())

    def count_bytes(
        self, data: bytes, end: bytes, n_passages: int
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], Int64s]:
        """`count` for a text given as UTF-8 bytes (see `_plain_ascii`), numbered by the compiled
        table; its chunks need not be lowercase ("The" and "the" are two chunks, of one term)."""
        assert self.table is not None
        if len(self.table) >= _MAX_CHUNKS:  # bound the memory (the term ids stay)
            self.table.clear()
            del self.start[1:], self.size[1:], self.flat[1:]
        numbers, new = self.table.number(data, end)
        if new:  # lowercased one by one: ~3x cheaper than the whole text (no other case is contextual)
            self._take([c.decode("utf-8", "surrogatepass").lower() for c in new])
        from newsbot.index.chunktable import count_terms

        start, size = np.frombuffer(self.start, dtype=np.int64), np.frombuffer(self.size, dtype=np.int64)
        flat = np.frombuffer(self.flat, dtype=np.int32)
        return count_terms(numbers, start, size, flat, len(self.analysis.terms), n_passages)

    def ranks(self, terms: npt.NDArray[np.int32], n_passages: int) -> npt.NDArray[np.uint16] | None:
        """Each of `count_bytes`' positions ranked among the batch's positions of the same term,
        so that the build need not sort the postings (see `bm25.by_term`); None past the 65,536
        passages whose ranks fit in 16 bits."""
        if n_passages > 1 << 16:
            return None
        from newsbot.index.chunktable import rank_terms

        if len(self.tally) < len(self.analysis.terms):
            self.tally = np.zeros(max(len(self.analysis.terms), 2 * len(self.tally)), dtype=np.int32)
        return rank_terms(terms, self.tally)

    def count(
        self, chunks: list[str], end: str, n_passages: int
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], Int64s]:
        """Each passage's distinct term ids in order of first occurrence, their counts, and the
        number of them per passage, for `chunks` whose passages end with the chunk `end`."""
        if len(self) >= _MAX_CHUNKS:  # bound the memory (the term ids stay)
            self.clear()
            del self.start[1:], self.size[1:], self.flat[1:]
        self[end] = 0
        self.learn(chunks)
        try:
            numbers = np.fromiter(map(self.__getitem__, chunks), dtype=np.int64, count=len(chunks))
        finally:
            del self[end]
        return self._expand(numbers, n_passages)

    def _expand(
        self, numbers: npt.NDArray[np.integer[Any]], n_passages: int
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], Int64s]:
        """Each passage's distinct term ids, counts and number of them, from its chunks' numbers."""
        start = np.frombuffer(self.start, dtype=np.int64)[numbers]
        size = np.frombuffer(self.size, dtype=np.int64)[numbers]
        # Each chunk's terms, in order: position i of the output reads flat[start + i - first].
        firsts = np.cumsum(size) - size
        at = np.arange(int(firsts[-1] + size[-1]) if len(size) else 0, dtype=np.int64)
        at += np.repeat(start - firsts, size)
        terms = np.frombuffer(self.flat, dtype=np.int32)[at]
        ends = terms < 0
        passage: Int64s = np.cumsum(ends, dtype=np.int64) - ends
        words = ~ends
        terms, passage = terms[words], passage[words]
        # A passage's distinct terms: a stable sort by (passage, term) puts each one's first
        # occurrence first among its repeats; they are taken back in text order.
        key = (passage << 32) | terms.astype(np.int64)
        order = np.argsort(key, kind="stable")
        ranked = key[order]
        new = np.ones(len(ranked), dtype=bool)
        new[1:] = ranked[1:] != ranked[:-1]
        heads = np.flatnonzero(new)
        first = np.zeros(len(terms), dtype=bool)
        first[order[heads]] = True
        repeats = np.zeros(len(terms), dtype=np.int64)
        repeats[order[heads]] = np.diff(np.append(heads, len(ranked)))
        kept = np.flatnonzero(first)
        lengths = np.bincount(passage[kept], minlength=n_passages).astype(np.int64)
        return terms[kept], repeats[kept], lengths
