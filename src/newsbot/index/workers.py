"""Analysing articles for the index: passage splitting, tokenizing, stemming and counting.

This is the costly part of a build; with a lot of text to analyse it runs in worker processes, in
batches of articles whose results come back in corpus order, so the index is the same whatever the
number of workers.
"""

from __future__ import annotations

import copy
import itertools
import os
import re
from array import array
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from newsbot.index.background import cores
from newsbot.index.chunks import TextSpill, entry
from newsbot.index.processes import ordered_map, start_context
from newsbot.index.sharing import SharedStems, scratch
from newsbot.index.tables import Table
from newsbot.records import Article
from newsbot.text.analyzer import Analyzer
from newsbot.text.passages import split_passages

if TYPE_CHECKING:  # (imported when used: numba, which they load, costs a process 0.2 s)
    from newsbot.index.chunktable import ChunkTable

_PARALLEL_MIN_CHARS = 4_000_000  # less text than this is analysed in-process: workers would cost more
_BATCH_CHARS = 4_000_000  # text per batch of articles handed to a worker
Int64s = npt.NDArray[np.int64]


@dataclass
class Analysed:
    """A batch of articles split into passages and analysed, by one analysis process."""

    process: int  # term ids are that process's own
    new_terms: list[str]  # the terms it numbered while analysing this batch, in order
    passages: list[int]  # passages per article
    lengths: Int64s  # distinct terms per passage
    term_ids: npt.NDArray[np.int32]  # each passage's distinct terms, in order of first occurrence
    counts: npt.NDArray[np.uint16]
    text: bytes  # the passages' UTF-8 texts, concatenated
    text_lengths: Int64s
    stems: dict[str, str]  # token -> stem of the words met (a saved index keeps them)


class _Analysis:
    """One process's analysis: its own term ids, and each distinct chunk of text's term ids.

    A batch is analysed as one text: its passages (each after its article's title, whose words
    count in every passage) joined with a separator chunk, lowercased and cut at whitespace at
    once. Each distinct chunk (see `Analyzer.chunks`) gets a number the first time it is met, its
    terms' ids kept in flat arrays; the batch's chunks become numbers by dict lookups in C, and
    their terms, passages and counts come from numpy, with no Python per word.
    """

    def __init__(
        self, analyzer: Analyzer, target: int, shared: SharedStems | None = None, compiled: bool = False
    ) -> None:
        self.analyzer = copy.copy(analyzer)  # empty caches: it reports every word's stem
        self.shared = shared if not analyzer.known_stems else None  # (a cold build's)
        if self.shared is not None:  # the stems the other processes made are looked up first
            self.analyzer = analyzer.knowing(self.shared.known)
        self.target = target
        self.ids: dict[str, int] = {}
        self.terms: list[str] = []
        self.reported = 0
        self.chunks = _Chunks(self, compiled)

    def term_id(self, term: str) -> int:
        i = self.ids.get(term)
        if i is None:
            i = self.ids[term] = len(self.terms)
            self.terms.append(term)
        return i

    def run(self, batch: list[tuple[str, str]]) -> Analysed:
        """Split (title, text) pairs into passages and count each passage's terms."""
        if self.chunks.table is not None:
            return self._run_compiled(batch)
        parts: list[str] = []
        texts: list[bytes] = []
        passages: list[int] = []
        for title, text in batch:
            pieces = split_passages(text, self.target)
            for piece in pieces:
                parts += (title, piece, _END)
                texts.append(piece.encode("utf-8"))
            passages.append(len(pieces))
        joined = " ".join(parts)
        end = _END
        while joined.count(end) != len(texts):  # the text has the separator: a longer one
            end += _END
            joined = " ".join(end if p is _END else p for p in parts)
        text = _plain(joined.lower()).decode("utf-8", "surrogatepass")
        term_ids, counts, lengths = self.chunks.count(text.split(), end, len(texts))
        return self._analysed(passages, texts, term_ids, counts, lengths)

    def _run_compiled(self, batch: list[tuple[str, str]]) -> Analysed:
        """`run` on UTF-8 bytes: most texts' passages cut by compiled code (`spacing.passages_of`),
        the batch's chunks numbered by it (`ChunkTable`)."""
        from newsbot.index.spacing import passages_of

        bodies = [text.encode("utf-8", "surrogatepass") for _, text in batch]
        packed, plain = passages_of(bodies, self.target)
        parts: list[bytes] = []
        texts: list[bytes] = []
        passages: list[int] = []
        for (title, text), pieces, as_is in zip(batch, packed, plain, strict=True):
            if pieces is None:
                pieces = [piece.encode("utf-8") for piece in split_passages(text, self.target, as_is)]
            heading = title.encode("utf-8", "surrogatepass")
            for piece in pieces:
                parts += (heading, piece, _END_BYTE)
            texts += pieces
            passages.append(len(pieces))
        joined = b" ".join(parts)
        end = _END_BYTE
        while joined.count(end) != len(texts):  # the text has the separator: a longer one
            end += _END_BYTE
            joined = b" ".join(end if p is _END_BYTE else p for p in parts)
        # Chunks lowercased when first met (see `count_bytes`): the whole text only when a
        # capital sigma's case depends on what follows it, maybe in another chunk.
        if _SIGMA in joined:
            joined = joined.decode("utf-8", "surrogatepass").lower().encode("utf-8", "surrogatepass")
        term_ids, counts, lengths = self.chunks.count_bytes(joined.translate(_TO_SPACE), end, len(texts))
        return self._analysed(passages, texts, term_ids, counts, lengths)

    def _analysed(
        self,
        passages: list[int],
        texts: list[bytes],
        term_ids: npt.NDArray[np.int32],
        counts: Int64s,
        lengths: Int64s,
    ) -> Analysed:
        new_terms, self.reported = self.terms[self.reported :], len(self.terms)
        return Analysed(
            process=os.getpid(),
            new_terms=new_terms,
            passages=passages,
            lengths=lengths,
            term_ids=term_ids,
            counts=np.minimum(counts, 65535).astype(np.uint16),
            text=b"".join(texts),
            text_lengths=np.array([len(t) for t in texts], dtype=np.int64),
            stems=self.analyzer.take_stems(),
        )


def _plain(text: str) -> bytes:
    """`text` in UTF-8 with ASCII punctuation (but dots) and the `_SPACES` as spaces: none of
    them is ever part of a token (for `re` and `regex` alike), so tokens stay the same, and
    "sanctions," or "(reuters)" are the chunks "sanctions" and "reuters", analysed once. Done on
    UTF-8 bytes, where an ASCII byte is always that character."""
    return _SPACES.sub(b" ", _plain_ascii(text))


def _plain_ascii(text: str) -> bytes:
    """`_plain` but for the separators beyond ASCII, which the compiled `ChunkTable` finds
    itself: replacing them here cost more than the rest of `_plain` and the numbering. (A
    worker's batch, bytes already, is translated the same way: `_run_compiled`.)"""
    return text.encode("utf-8", "surrogatepass").translate(_TO_SPACE)


_TO_SPACE = bytes(b if b > 127 or chr(b).isalnum() or chr(b) in ".\x00" else 32 for b in range(256))
# The commonest of `analyzer._PUNCTUATION` in UTF-8: – — ‘ ’ “ ” … (`chunktable._gap` finds
# them, and the whitespace beyond ASCII, in the compiled numbering)
_SPACES = re.compile(b"\xe2\x80[\x93\x94\x98\x99\x9c\x9d\xa6]")
_END = "\x00"  # ends each passage in a batch's text; lowercasing and `split` leave it as it is
_END_BYTE = _END.encode()
_SIGMA = "Σ".encode()
_MAX_CHUNKS = 2_000_000  # distinct chunks remembered (~200 MB); then they are forgotten


class _Chunks(dict[str, int]):
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


_worker: _Analysis | None = None


# A batch of articles: their (title, text) pairs, or where those are in the build's `TextSpill`
# (the entries' starts, and their sizes: see `analysed`), which a forked worker reads itself.
Batch = list[tuple[str, str]] | tuple[Sequence[int], Sequence[int]]
_spilled: int | None = None  # the `TextSpill`'s file, in a forked worker


def _init_worker(analyzer: Analyzer, target: int, shared: int | None, spilled: int | None) -> None:
    global _worker, _spilled
    _worker = _Analysis(analyzer, target, None if shared is None else SharedStems(shared), compiled=True)
    _spilled = spilled
    # (The compiled code is loaded by each worker, with its `_Chunks`: loaded before the fork,
    # it would be shared, but it would stay in the main process, +45-100 MB at its peak.)


def _analyse_in_worker(task: tuple[int, Batch]) -> Analysed:
    assert _worker is not None
    number, batch = task
    shared = _worker.shared
    if shared is not None:
        shared.learn(number)
    result = _worker.run(_pairs(batch, _spilled))
    if shared is not None:
        shared.tell(number, result.stems)
    return result


def _pairs(batch: Batch, spilled: int | None) -> list[tuple[str, str]]:
    if spilled is None:  # pairs already
        return cast(list[tuple[str, str]], batch)
    starts, sizes = cast(tuple[Sequence[int], Sequence[int]], batch)
    return [entry(spilled, start, size) for start, size in zip(starts, sizes, strict=True)]


def _places(bounds: list[int], starts: Sequence[int], sizes: Sequence[int]) -> Iterator[Batch]:
    return ((starts[lo:hi], sizes[lo:hi]) for lo, hi in itertools.pairwise(bounds))


def analysed(
    articles: Sequence[Article],
    analyzer: Analyzer,
    target: int,
    workers: int | None,
    texts: TextSpill | None = None,
) -> Generator[Analysed, None, None]:
    """The analysed batches of `articles`, in order: in worker processes when that pays. With
    `texts`, the articles' titles and texts are there (read a batch at a time, so that a big build
    never holds them all; by forked workers themselves, so that they never pass through here)."""
    # (arrays: a big build's main process holds two ints a fresh article, 8 bytes each, not 36)
    starts: array[int] | None = None
    if texts is None:
        sizes = array("q", (len(a.text) for a in articles))
    else:
        starts, sizes = array("q"), array("q")
        for start, size in map(texts.place, articles):
            starts.append(start)
            sizes.append(size)
    chars = sum(sizes)
    if workers is None:
        workers = min(cores(), 8) if chars >= _PARALLEL_MIN_CHARS else 1
    # Four batches a worker, and four when analysed here too: measured in a fresh process (the
    # benchmark's 1% reindex), one batch of the 262 articles took ~28 ms more than four (fresh
    # memory for all their chunks at once), though 20% less when the process had run one before.
    size = max(min(_BATCH_CHARS, chars // (4 * workers) + 1), 1)
    bounds = [0]  # batch b: articles bounds[b]:bounds[b + 1]
    filled = 0
    for n, length in enumerate(sizes):
        if filled >= size:
            bounds.append(n)
            filled = 0
        filled += length
    bounds.append(len(articles))
    spilled = None if texts is None else texts.written()

    def batches() -> Iterator[list[tuple[str, str]]]:
        for lo, hi in itertools.pairwise(bounds):
            if starts is None:
                yield [(a.title, a.text) for a in articles[lo:hi]]
            else:
                yield _pairs((starts[lo:hi], sizes[lo:hi]), spilled)

    n_batches = len(bounds) - 1
    if workers <= 1 or n_batches <= 1:
        here = _Analysis(analyzer, target)
        for batch in batches():
            yield here.run(batch)
        return
    # The workers take batches as they are ready for them (a pipe each), not all at once.
    # Forked workers share their stems through a scratch file (see `newsbot.index.sharing`), and
    # read their batches from the texts' (both inherited open).
    context = start_context()
    forked = context.get_start_method() == "fork"
    with scratch() as file:
        shared = file.fileno() if forked else None
        yield from ordered_map(
            context,
            min(workers, n_batches),
            _init_worker,
            (analyzer, target, shared, spilled if forked else None),
            _analyse_in_worker,
            enumerate(batches() if starts is None or not forked else _places(bounds, starts, sizes)),
        )
