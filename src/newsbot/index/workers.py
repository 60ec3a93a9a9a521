"""Analysing articles for the index: passage splitting, tokenizing, stemming and counting.

This is the costly part of a build; with a lot of text to analyse it runs in worker processes, in
batches of articles whose results come back in corpus order, so the index is the same whatever the
number of workers.
"""

from __future__ import annotations

import copy
import itertools
import multiprocessing
import os
import signal
import threading
from array import array
from collections import Counter
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from multiprocessing.context import BaseContext

import numpy as np
import numpy.typing as npt

from newsbot.index.chunks import TextSpill
from newsbot.records import Article
from newsbot.text.analyzer import Analyzer
from newsbot.text.passages import split_passages

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


class _Analysis(dict[str, tuple[int, ...]]):
    """One process's analysis: its own term ids, and each distinct chunk of text's term ids.

    The chunks (see `Analyzer.chunks`) of a text are mapped to term ids by dict lookups alone once
    seen, and counted per passage by `Counter` (in C), title included.
    """

    def __init__(self, analyzer: Analyzer, target: int) -> None:
        super().__init__()
        self.analyzer = copy.copy(analyzer)  # empty caches: it reports every word's stem
        self.target = target
        self.ids: dict[str, int] = {}
        self.terms: list[str] = []
        self.reported = 0

    def __missing__(self, chunk: str) -> tuple[int, ...]:
        ids = []
        for term in self.analyzer.chunk_terms(chunk):
            i = self.ids.get(term)
            if i is None:
                i = self.ids[term] = len(self.terms)
                self.terms.append(term)
            ids.append(i)
        if len(self) >= 2_000_000:  # bound the memory
            self.clear()
        found = self[chunk] = tuple(ids)
        return found

    def run(self, batch: list[tuple[str, str]]) -> Analysed:
        """Split (title, text) pairs into passages and count each passage's terms."""
        ids, counts = array("i"), array("i")
        lengths: list[int] = []
        passages: list[int] = []
        texts: list[bytes] = []
        chunks, lookup = self.analyzer.chunks, self.__getitem__
        for title, text in batch:
            title_ids = list(chain.from_iterable(map(lookup, chunks(title))))
            pieces = split_passages(text, self.target)
            for piece in pieces:
                counted = Counter(title_ids)
                counted.update(chain.from_iterable(map(lookup, chunks(piece))))
                ids.extend(counted)
                counts.extend(counted.values())
                lengths.append(len(counted))
                texts.append(piece.encode("utf-8"))
            passages.append(len(pieces))
        new_terms, self.reported = self.terms[self.reported :], len(self.terms)
        return Analysed(
            process=os.getpid(),
            new_terms=new_terms,
            passages=passages,
            lengths=np.array(lengths, dtype=np.int64),
            term_ids=np.frombuffer(ids, dtype=np.int32),
            counts=np.minimum(np.frombuffer(counts, dtype=np.int32), 65535).astype(np.uint16),
            text=b"".join(texts),
            text_lengths=np.array([len(t) for t in texts], dtype=np.int64),
            stems=self.analyzer.take_stems(),
        )


_worker: _Analysis | None = None


def _init_worker(analyzer: Analyzer, target: int) -> None:
    global _worker
    # Ctrl-C reaches the whole process group: only the parent handles it (it stops the pool);
    # a worker interrupted mid-batch would print a traceback and could hang the pool's shutdown.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = _Analysis(analyzer, target)


def _analyse_in_worker(batch: list[tuple[str, str]]) -> Analysed:
    assert _worker is not None
    return _worker.run(batch)


def _context() -> BaseContext:
    """fork when this process runs no other thread; otherwise a clean server process (a bot)."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def analysed(
    articles: Sequence[Article],
    analyzer: Analyzer,
    target: int,
    workers: int | None,
    texts: TextSpill | None = None,
) -> Generator[Analysed, None, None]:
    """The analysed batches of `articles`, in order: in worker processes when that pays. With
    `texts`, the articles' texts are there (read a batch at a time, so that a big build never
    holds them all)."""
    sizes = [len(a.text) for a in articles] if texts is None else [texts.size(a) for a in articles]
    chars = sum(sizes)
    if workers is None:
        workers = min(_cores(), 8) if chars >= _PARALLEL_MIN_CHARS else 1
    size = max(min(_BATCH_CHARS, chars // (4 * workers) + 1), 1)
    bounds = [0]  # batch b: articles bounds[b]:bounds[b + 1]
    filled = 0
    for n, length in enumerate(sizes):
        if filled >= size:
            bounds.append(n)
            filled = 0
        filled += length
    bounds.append(len(articles))

    def batches() -> Iterator[list[tuple[str, str]]]:
        for lo, hi in itertools.pairwise(bounds):
            part = articles[lo:hi]
            yield (
                [(a.title, a.text) for a in part]
                if texts is None
                else [(a.title, texts.text(a)) for a in part]
            )

    n_batches = len(bounds) - 1
    if workers <= 1 or n_batches <= 1:
        here = _Analysis(analyzer, target)
        for batch in batches():
            yield here.run(batch)
        return
    # `imap` takes batches as the workers are ready for them (its pipe is small), not all at once.
    with _context().Pool(min(workers, n_batches), _init_worker, (analyzer, target)) as pool:
        yield from pool.imap(_analyse_in_worker, batches())
