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
from pathlib import Path
from typing import AnyStr, cast

import numpy as np
import numpy.typing as npt

from newsbot.index.background import cores, spare_core
from newsbot.index.chunknumbers import Chunks
from newsbot.index.processes import ordered_map, start_context
from newsbot.index.sharing import SharedStems, scratch
from newsbot.index.textspill import TextSpill, entry, write_new
from newsbot.records import Article
from newsbot.text.analyzer import Analyzer
from newsbot.text.passages import split_passages

_PARALLEL_MIN_CHARS = (
    4_000_000  # less text than this is analysed without compiled code (loading it costs more)
)
# From this much text on, two processes analyse it when this one can fork and a core is spare,
# each without compiled code: the 1% reindex's 2 MB in ~0.16 s instead of ~0.21 (forking, and
# the texts and results through pipes, cost ~15 ms).
_FORKED_MIN_CHARS = 500_000
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
    # Or the file they are in, instead (`text` is empty): a cold build's workers write them to
    # one a batch, which the builder moves into its own (`textspill.move_into`), not piped here.
    text_file: str | None = None
    # Each of `term_ids`' rank among the batch's of the same term (compiled analysis only: see
    # `bm25.by_term`), or None.
    ranks: npt.NDArray[np.uint16] | None = None


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
        self.chunks = Chunks(self, compiled)

    def term_id(self, term: str) -> int:
        i = self.ids.get(term)
        if i is None:
            i = self.ids[term] = len(self.terms)
            self.terms.append(term)
        return i

    def run(self, batch: Sequence[Pair]) -> Analysed:
        """Split (title, text) pairs into passages and count each passage's terms."""
        if self.chunks.table is not None:
            return self._run_compiled([(_utf8(title), _utf8(text)) for title, text in batch])
        parts: list[str] = []
        texts: list[bytes] = []
        passages: list[int] = []
        for title, text in ((_str(title), _str(text)) for title, text in batch):
            pieces = split_passages(text, self.target)
            for piece in pieces:
                parts += (title, piece, _END)
                texts.append(piece.encode("utf-8"))
            passages.append(len(pieces))
        joined, end = _joined(parts, " ", _END, len(texts))
        text = _plain(joined.lower()).decode("utf-8", "surrogatepass")
        term_ids, counts, lengths = self.chunks.count(text.split(), end, len(texts))
        return self._analysed(passages, texts, term_ids, counts, lengths)

    def _run_compiled(self, batch: list[tuple[bytes, bytes]]) -> Analysed:
        """`run` on UTF-8 (title, text) pairs: most texts' passages cut by compiled code
        (`spacing.passages_of`), the batch's chunks numbered by it (`ChunkTable`)."""
        from newsbot.index.spacing import passages_of

        packed, plain = passages_of([text for _, text in batch], self.target)
        parts: list[bytes] = []
        texts: list[bytes] = []
        passages: list[int] = []
        for (heading, text), pieces, as_is in zip(batch, packed, plain, strict=True):
            if pieces is None:
                cut = split_passages(_str(text), self.target, as_is)
                pieces = [piece.encode("utf-8") for piece in cut]
            for piece in pieces:
                parts += (heading, piece, _END_BYTE)
            texts += pieces
            passages.append(len(pieces))
        joined, end = _joined(parts, b" ", _END_BYTE, len(texts))
        # Chunks lowercased when first met (see `count_bytes`): the whole text only when a
        # capital sigma's case depends on what follows it, maybe in another chunk.
        if _SIGMA in joined:
            joined = joined.decode("utf-8", "surrogatepass").lower().encode("utf-8", "surrogatepass")
        term_ids, counts, lengths = self.chunks.count_bytes(joined.translate(_TO_SPACE), end, len(texts))
        ranks = self.chunks.ranks(term_ids, len(texts))
        return self._analysed(passages, texts, term_ids, counts, lengths, ranks)

    def _analysed(
        self,
        passages: list[int],
        texts: list[bytes],
        term_ids: npt.NDArray[np.int32],
        counts: Int64s,
        lengths: Int64s,
        ranks: npt.NDArray[np.uint16] | None = None,
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
            ranks=ranks,
        )


def _joined(parts: list[AnyStr], space: AnyStr, end: AnyStr, n_passages: int) -> tuple[AnyStr, AnyStr]:
    """`parts` joined by `space`, each passage ending with the separator `end` (that very object
    among them), and the separator: made longer while a text holds it too."""
    joined, marker = space.join(parts), end
    while joined.count(marker) != n_passages:
        marker += end
        joined = space.join(marker if p is end else p for p in parts)
    return joined, marker


def _utf8(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


def _str(text: str | bytes) -> str:
    return text if isinstance(text, str) else text.decode("utf-8", "surrogatepass")


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
_worker: _Analysis | None = None


# An article's title and text: as strings, or in UTF-8 as a `TextSpill` keeps them (a worker
# with compiled code analyses bytes: a spilled text is never decoded there only to be encoded).
Pair = tuple[str, str] | tuple[bytes, bytes]
# A batch of articles: their (title, text) pairs, or where those are in the build's `TextSpill`
# (the entries' files, starts and sizes: see `analysed`), which a forked worker reads itself.
Places = tuple[Sequence[int], Sequence[int], Sequence[int]]
Batch = Sequence[Pair] | Places
_spilled: tuple[int, ...] | None = None  # the `TextSpill`'s files, in a forked worker
_passages: Path | None = None  # and its folder, where the worker writes each batch's passages


def _init_worker(
    analyzer: Analyzer,
    target: int,
    shared: int | None,
    spilled: tuple[int, ...] | None,
    compiled: bool = True,
    passages: Path | None = None,
) -> None:
    global _worker, _spilled, _passages
    _worker = _Analysis(analyzer, target, None if shared is None else SharedStems(shared), compiled)
    _spilled, _passages = spilled, passages
    # (The compiled code is loaded by each worker, with its `Chunks`: loaded before the fork,
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
    if _passages is not None:
        path = _passages / f"passages-{os.getpid()}-{number}"
        write_new(path, result.text)
        result.text, result.text_file = b"", str(path)
    return result


def _pairs(batch: Batch, spilled: tuple[int, ...] | None) -> Sequence[Pair]:
    if spilled is None:  # pairs already
        return cast(Sequence[Pair], batch)
    return [entry(spilled, place) for place in zip(*cast(Places, batch), strict=True)]


def _places(bounds: list[int], places: Places) -> Iterator[Places]:
    files, starts, sizes = places
    return ((files[lo:hi], starts[lo:hi], sizes[lo:hi]) for lo, hi in itertools.pairwise(bounds))


def analysed(
    articles: Sequence[Article],
    analyzer: Analyzer,
    target: int,
    workers: int | None,
    texts: TextSpill | None = None,
) -> Generator[Analysed, None, None]:
    """The analysed batches of `articles`, in order: in worker processes when that pays. With
    `texts`, the articles' titles and texts are there (read a batch at a time, so that a big build
    never holds them all; by forked workers themselves, so that they never pass through here),
    and their places are taken from it (`TextSpill.take_places`: it keeps them no longer)."""
    # (arrays: a big build's main process holds three ints a fresh article, 18 bytes, not 36 each)
    places: Places | None = None
    if texts is None:
        sizes = array("q", (len(a.text) for a in articles))
    else:
        places = texts.take_places(articles)
        sizes = places[2]
    chars = sum(sizes)
    light = False  # workers without compiled code, for less text than pays for loading it
    if workers is None and chars >= _PARALLEL_MIN_CHARS:
        workers = min(cores(), 8)
    elif workers is None:
        light = chars >= _FORKED_MIN_CHARS and start_context().get_start_method() == "fork" and spare_core()
        workers = 2 if light else 1
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

    def batches() -> Iterator[Sequence[Pair]]:
        if places is not None:
            yield from (_pairs(batch, spilled) for batch in _places(bounds, places))
            return
        for lo, hi in itertools.pairwise(bounds):
            yield [(a.title, a.text) for a in articles[lo:hi]]

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
    tasks: Iterator[Batch] = batches() if places is None or not forked else _places(bounds, places)
    passages = texts.folder() if texts is not None and forked else None
    with scratch() as file:
        shared = file.fileno() if forked else None
        yield from ordered_map(
            context,
            min(workers, n_batches),
            _init_worker,
            (analyzer, target, shared, spilled if forked else None, not light, passages),
            _analyse_in_worker,
            enumerate(tasks),
        )
