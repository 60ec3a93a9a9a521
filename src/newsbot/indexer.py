"""Building the index from the corpus: full or incremental, with a summary of what happened.

An incremental build re-reads only corpus files whose size or modification time changed and
re-analyses only articles whose content hash changed; unchanged articles keep their passages and
term counts from the previous index. BM25 weights are always recomputed, since every idf depends
on the whole corpus (a vectorised pass, cheap next to analysis).

Analysis (passage splitting, tokenizing, stemming, counting) is the costly part of a build; with a
lot of text to analyse it runs in worker processes, in batches of articles whose results are merged
in corpus order, so the index is the same whatever the number of workers.
"""

from __future__ import annotations

import copy
import hashlib
import multiprocessing
import os
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from multiprocessing.context import BaseContext
from pathlib import Path

import numpy as np
import numpy.typing as npt

from newsbot.analysis import Analyzer
from newsbot.bm25 import BM25Params, Forward, build_postings
from newsbot.corpus import dedupe, read_file, scan
from newsbot.index import FileState, Index
from newsbot.passages import TARGET_WORDS, split_passages
from newsbot.records import Article, BuildReport

Progress = Callable[[str, int, int], None]


_PARALLEL_MIN_CHARS = 4_000_000  # less text than this is analysed in-process: workers would cost more
_BATCH_CHARS = 4_000_000  # text per batch of articles handed to a worker
Int64s = npt.NDArray[np.int64]
# One article's passages: distinct terms per passage, term ids, counts, text, text lengths, positions.
_Parts = tuple[np.ndarray, np.ndarray, np.ndarray, memoryview, np.ndarray, np.ndarray]


@dataclass
class _Analysed:
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

    def run(self, batch: list[tuple[str, str]]) -> _Analysed:
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
        new_terms, self.reported = self.terms[self.reported:], len(self.terms)
        return _Analysed(
            process=os.getpid(), new_terms=new_terms, passages=passages,
            lengths=np.array(lengths, dtype=np.int64), term_ids=np.frombuffer(ids, dtype=np.int32),
            counts=np.minimum(np.frombuffer(counts, dtype=np.int32), 65535).astype(np.uint16),
            text=b"".join(texts), text_lengths=np.array([len(t) for t in texts], dtype=np.int64),
            stems=self.analyzer.take_stems(),
        )


_worker: _Analysis | None = None


def _init_worker(analyzer: Analyzer, target: int) -> None:
    global _worker
    _worker = _Analysis(analyzer, target)


def _analyse_in_worker(batch: list[tuple[str, str]]) -> _Analysed:
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


def _analysed(articles: list[Article], analyzer: Analyzer, target: int,
              workers: int | None) -> Generator[_Analysed, None, None]:
    """The analysed batches of `articles`, in order: in worker processes when that pays."""
    chars = sum(len(a.text) for a in articles)
    if workers is None:
        workers = min(_cores(), 8) if chars >= _PARALLEL_MIN_CHARS else 1
    size = max(min(_BATCH_CHARS, chars // (4 * workers) + 1), 1)
    batches: list[list[tuple[str, str]]] = [[]]
    filled = 0
    for a in articles:
        if filled >= size:
            batches.append([])
            filled = 0
        batches[-1].append((a.title, a.text))
        filled += len(a.text)
    if workers <= 1 or len(batches) == 1:
        here = _Analysis(analyzer, target)
        for batch in batches:
            yield here.run(batch)
        return
    with _context().Pool(min(workers, len(batches)), _init_worker, (analyzer, target)) as pool:
        yield from pool.imap(_analyse_in_worker, batches)


@dataclass
class _Builder:
    """Accumulates passages and their term counts in index order, as arrays (views where possible)."""

    base: Mapping[str, int]  # the previous index's vocabulary (term -> id), or {}
    base_size: int
    new_ids: dict[str, int] = field(default_factory=dict)  # terms it lacks -> ids after its own
    new_terms: list[str] = field(default_factory=list)
    lengths: list[np.ndarray] = field(default_factory=list)  # distinct terms per passage
    fwd_terms: list[np.ndarray] = field(default_factory=list)
    fwd_counts: list[np.ndarray] = field(default_factory=list)
    texts: list[bytes | memoryview] = field(default_factory=list)
    text_lengths: list[np.ndarray] = field(default_factory=list)
    positions: list[np.ndarray] = field(default_factory=list)
    article_passages: list[int] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    stems: dict[str, str] = field(default_factory=dict)
    remaps: dict[int, list[int]] = field(default_factory=dict)  # analysis process -> its term ids

    def split(self, result: _Analysed) -> Iterator[_Parts]:
        """The articles of an analysed batch, in order, as `add` takes them (global term ids)."""
        self.stems.update(result.stems)
        remap = self.remaps.setdefault(result.process, [])
        remap.extend(self._term_id(t) for t in result.new_terms)
        ids = np.array(remap, dtype=np.int32)[result.term_ids]
        text = memoryview(result.text)
        p = f = t = 0
        for n in result.passages:
            lengths, text_lengths = result.lengths[p:p + n], result.text_lengths[p:p + n]
            m, c = int(lengths.sum()), int(text_lengths.sum())
            yield (lengths, ids[f:f + m], result.counts[f:f + m], text[t:t + c], text_lengths,
                   np.arange(n, dtype=np.int32))
            p, f, t = p + n, f + m, t + c

    def add_reused(self, articles: list[Article], old: Index, start: int) -> None:
        """Unchanged articles, consecutive in `old` from article `start`: their passages copied."""
        if not articles:
            return
        bounds = np.asarray(old.article_start[start:start + len(articles) + 1])
        first, last = int(bounds[0]), int(bounds[-1])
        fwd = np.asarray(old.forward.indptr[first:last + 1])
        offsets = np.asarray(old.text_offsets[first:last + 1])
        self.lengths.append(np.diff(fwd))
        self.fwd_terms.append(np.asarray(old.forward.terms[fwd[0]:fwd[-1]]))
        self.fwd_counts.append(np.asarray(old.forward.counts[fwd[0]:fwd[-1]]))
        self.texts.append(bytes(old.texts[offsets[0]:offsets[-1]]))
        self.text_lengths.append(np.diff(offsets))
        self.positions.append(np.asarray(old.passage_position[first:last]))
        self.article_passages.extend(np.diff(bounds).tolist())
        self.articles.extend(a if not a.text else Article(**{**a.__dict__, "text": ""}) for a in articles)

    def add(self, article: Article, lengths: np.ndarray, terms: np.ndarray, counts: np.ndarray,
            text: bytes | memoryview, text_lengths: np.ndarray, positions: np.ndarray) -> None:
        self.lengths.append(lengths)
        self.fwd_terms.append(terms)
        self.fwd_counts.append(counts)
        self.texts.append(text)
        self.text_lengths.append(text_lengths)
        self.positions.append(positions)
        self.article_passages.append(len(lengths))
        self.articles.append(article if not article.text else Article(**{**article.__dict__, "text": ""}))

    def _term_id(self, term: str) -> int:
        i = self.new_ids.get(term)
        if i is None:
            i = self.base.get(term)
            if i is None:
                i = self.new_ids[term] = self.base_size + len(self.new_terms)
                self.new_terms.append(term)
        return i


def build_index(root: Path, analyzer: Analyzer, *, previous: Index | None = None,
                exclude: Iterable[str] = (), params: BM25Params = BM25Params(),
                target_words: int = TARGET_WORDS, progress: Progress | None = None,
                workers: int | None = None) -> tuple[Index, BuildReport]:
    """Build the index of the corpus at `root`, reusing `previous` where nothing changed.

    `workers`: processes that analyse text; by default one per core when there is a lot of it.
    """
    if previous is not None and previous.params != params:
        previous = None  # other BM25 defaults: a release that may also analyse or split differently
    began = time.perf_counter()
    tell = progress or (lambda stage, done, total: None)
    excluded = set(exclude)
    paths, skipped = scan(root)
    before = list(previous.articles) if previous else []  # read once: may be parsed on demand
    old_articles = {a.id: i for i, a in enumerate(before)}
    files: dict[str, FileState] = {}
    found: list[Article] = []
    for n, path in enumerate(paths):
        tell("reading", n, len(paths))
        rel = path.name if root.is_file() else path.relative_to(root).as_posix()
        stat = path.stat()
        state = previous.files.get(rel) if previous else None
        if (state and state.size == stat.st_size and state.mtime_ns == stat.st_mtime_ns
                and all(i in old_articles for i in state.article_ids)):
            articles = [before[old_articles[i]] for i in state.article_ids]
            notes = list(state.skipped)
        else:
            read = read_file(path, root)
            articles, notes = list(read.articles), list(read.skipped)
        files[rel] = FileState(stat.st_size, stat.st_mtime_ns, tuple(a.id for a in articles),
                               tuple(notes))
        found.extend(a for a in articles if a.id not in excluded)
        skipped.extend(notes)
    kept, dupes = dedupe(found)
    skipped.extend(dupes)

    builder = _Builder(base=previous.vocab if previous else {},
                       base_size=len(previous.terms) if previous else 0)
    olds = [old_articles.get(a.id) for a in kept]
    reusable = [before[old].content_hash == a.content_hash if previous and old is not None
                else False for a, old in zip(kept, olds, strict=True)]
    fresh = [a for a, reuse in zip(kept, reusable, strict=True) if not reuse]
    batches = _analysed(fresh, analyzer, target_words, workers)
    pending = (parts for result in batches for parts in builder.split(result))
    added = updated = unchanged = 0
    run: list[Article] = []  # unchanged articles, consecutive in `previous` from `run_start`
    run_start = 0
    try:
        for n, (article, old, reuse) in enumerate(zip(kept, olds, reusable, strict=True)):
            if n % 256 == 0:
                tell("analysing", n, len(kept))
            if previous and old is not None and reuse:
                if run and old != run_start + len(run):
                    builder.add_reused(run, previous, run_start)
                    run = []
                if not run:
                    run_start = old
                run.append(article)
                unchanged += 1
                continue
            if previous:
                builder.add_reused(run, previous, run_start)
                run = []
            builder.add(article, *next(pending))
            if old is None:
                added += 1
            else:
                updated += 1
        if previous:
            builder.add_reused(run, previous, run_start)
    finally:
        batches.close()  # stops the worker processes
    tell("analysing", len(kept), len(kept))
    removed = len(set(old_articles) - {a.id for a in kept})
    n_kept = len(kept)
    del found, kept, fresh  # the articles' texts: the builder has the passages now

    tell("indexing", 0, 1)
    with _small_pages():
        index = _assemble(builder, root, params, files, previous)
    tell("indexing", 1, 1)
    report = BuildReport(
        articles=n_kept, passages=index.n_passages, added=added, updated=updated,
        removed=removed, unchanged=unchanged, skipped=tuple(skipped),
        seconds=time.perf_counter() - began, version=index.version,
    )
    return index, report


@contextmanager
def _small_pages() -> Iterator[None]:
    """Ask no huge pages for numpy's big arrays for a while: the arrays of a build are written once
    and read a few times in order, and where the kernel compacts memory to make huge pages on
    request (the common `defrag=madvise`), getting them costs more than they save (4x here)."""
    setter = getattr(getattr(np, "_core", None), "multiarray", None)
    setter = getattr(setter, "_set_madvise_hugepage", None)
    if setter is None:
        yield
        return
    before = setter(False)
    try:
        yield
    finally:
        setter(before)


def _assemble(b: _Builder, root: Path, params: BM25Params, files: dict[str, FileState],
              previous: Index | None) -> Index:
    def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

    def starts(sizes: np.ndarray) -> Int64s:
        out = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=out[1:])
        return out

    forward = Forward(indptr=starts(joined(b.lengths, np.int64)), terms=joined(b.fwd_terms, np.int32),
                      counts=joined(b.fwd_counts, np.uint16))
    if previous:
        vocab, terms, stems = previous.extended(b.new_terms, b.stems)
    else:
        vocab, terms, stems = b.new_ids, tuple(b.new_terms), b.stems
    postings = build_postings(forward, len(terms), params)
    sources = sorted({a.source for a in b.articles if a.source})
    source_id = {s: i for i, s in enumerate(sources)}
    article_day = np.array([a.date.toordinal() if a.date else 0 for a in b.articles], dtype=np.int32)
    article_source = np.array([source_id.get(a.source or "", -1) for a in b.articles], dtype=np.int32)
    article_passages = np.array(b.article_passages, dtype=np.int64)
    passage_article = np.repeat(np.arange(len(b.articles), dtype=np.int32), article_passages)
    now = datetime.now(UTC)
    digest = hashlib.sha1("".join(a.content_hash for a in b.articles).encode()).hexdigest()[:8]
    return Index(
        version=f"{now:%Y%m%d-%H%M%S}-{digest}", built_at=now.isoformat(timespec="seconds"),
        corpus=str(root), params=params, terms=terms, vocab=vocab,
        forward=forward, postings=postings, articles=tuple(b.articles),
        article_start=starts(article_passages),
        passage_article=passage_article,
        passage_position=joined(b.positions, np.int32),
        passage_day=article_day[passage_article] if len(passage_article) else np.zeros(0, np.int32),
        passage_source=article_source[passage_article] if len(passage_article) else np.zeros(0, np.int32),
        sources=tuple(sources), texts=b"".join(b.texts),
        text_offsets=starts(joined(b.text_lengths, np.int64)), files=files, stems=stems,
    )
