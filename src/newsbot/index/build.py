"""Building the index from the corpus: full or incremental, with a summary of what happened.

An incremental build re-reads only corpus files whose size or modification time changed and
re-analyses only articles whose content hash changed. Unchanged articles keep their passages in
the previous index's segments; the new and changed ones go into a new segment, and the passages
they replace become dead (see `newsbot.index.merge`), so a small change makes a small reindex.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from newsbot.corpus.read import dedupe, read_file, scan
from newsbot.index.bm25 import BM25Params, Forward, offsets
from newsbot.index.merge import Fresh, assemble
from newsbot.index.store import Index
from newsbot.index.tables import FileState
from newsbot.index.workers import Analysed, analysed
from newsbot.records import Article, BuildReport
from newsbot.text.analyzer import Analyzer
from newsbot.text.passages import TARGET_WORDS

Progress = Callable[[str, int, int], None]


@dataclass
class _Builder:
    """Collects the analysed passages of new and changed articles, with index-wide term ids."""

    base: Mapping[str, int]  # the previous index's vocabulary (term -> id), or {}
    base_size: int
    new_ids: dict[str, int] = field(default_factory=dict)  # terms it lacks -> ids after its own
    new_terms: list[str] = field(default_factory=list)
    lengths: list[np.ndarray] = field(default_factory=list)  # distinct terms per passage
    fwd_terms: list[np.ndarray] = field(default_factory=list)
    fwd_counts: list[np.ndarray] = field(default_factory=list)
    # The passages' texts go to an unnamed temporary file as they come: a big build need not hold
    # them in memory (they are read back, mapped, only to be saved).
    texts: BinaryIO = field(default_factory=tempfile.TemporaryFile)
    text_lengths: list[np.ndarray] = field(default_factory=list)
    passages: list[int] = field(default_factory=list)  # per article
    stems: dict[str, str] = field(default_factory=dict)
    remaps: dict[int, list[int]] = field(default_factory=dict)  # analysis process -> its term ids

    def add(self, result: Analysed) -> None:
        """An analysed batch of articles, their term ids made index-wide."""
        self.stems.update(result.stems)
        remap = self.remaps.setdefault(result.process, [])
        remap.extend(self._term_id(t) for t in result.new_terms)
        self.fwd_terms.append(np.array(remap, dtype=np.int32)[result.term_ids])
        self.fwd_counts.append(result.counts)
        self.lengths.append(result.lengths)
        self.texts.write(result.text)
        self.text_lengths.append(result.text_lengths)
        self.passages.extend(result.passages)

    def take(self, articles: list[Article]) -> Fresh:
        """The passages of `articles` (analysed, texts dropped), joined; the builder is left
        empty, each part freed once joined, so that a big build holds one copy at a time."""

        def joined(parts: list[Any], dtype: type) -> np.ndarray:
            out: np.ndarray = np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)
            parts.clear()
            return out

        per_article = np.array(self.passages, dtype=np.int64)
        firsts = np.repeat(np.cumsum(per_article) - per_article, per_article)
        self.texts.flush()
        texts = np.memmap(self.texts, dtype=np.uint8, mode="r") if self.texts.tell() else b""
        self.texts.close()  # the map keeps the data
        return Fresh(
            articles=articles,
            passages=per_article,
            forward=Forward(
                indptr=offsets(joined(self.lengths, np.int64)),
                terms=joined(self.fwd_terms, np.int32),
                counts=joined(self.fwd_counts, np.uint16),
            ),
            texts=texts,
            text_offsets=offsets(joined(self.text_lengths, np.int64)),
            positions=(np.arange(len(firsts)) - firsts).astype(np.int32),
            new_terms=self.new_terms,
            stems=self.stems,
        )

    def _term_id(self, term: str) -> int:
        i = self.new_ids.get(term)
        if i is None:
            i = self.base.get(term)
            if i is None:
                i = self.new_ids[term] = self.base_size + len(self.new_terms)
                self.new_terms.append(term)
        return i


def build_index(
    root: Path,
    analyzer: Analyzer,
    *,
    previous: Index | None = None,
    exclude: Iterable[str] = (),
    params: BM25Params = BM25Params(),
    target_words: int = TARGET_WORDS,
    progress: Progress | None = None,
    workers: int | None = None,
) -> tuple[Index, BuildReport]:
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
    folder = None if root.is_file() else root.as_posix().rstrip("/") + "/"
    for n, path in enumerate(paths):
        tell("reading", n, len(paths))
        rel = path.as_posix()[len(folder) :] if folder else path.name
        stat = path.stat()
        state = previous.files.get(rel) if previous else None
        # Unchanged, and its ids still name its own articles (not a renamed duplicate's).
        if (
            state
            and state.size == stat.st_size
            and state.mtime_ns == stat.st_mtime_ns
            and all(i in old_articles and before[old_articles[i]].path == rel for i in state.article_ids)
        ):
            articles = [before[old_articles[i]] for i in state.article_ids]
            notes = list(state.skipped)
        else:
            read = read_file(path, root)
            articles, notes = list(read.articles), list(read.skipped)
        files[rel] = FileState(stat.st_size, stat.st_mtime_ns, tuple(a.id for a in articles), tuple(notes))
        found.extend(a for a in articles if a.id not in excluded)
        skipped.extend(notes)
    kept, dupes = dedupe(found)
    kept = [a for a in kept if a.id not in excluded]  # a removed renamed duplicate (`x~2`) too
    skipped.extend(dupes)

    reused: list[tuple[int, Article]] = []  # the previous index's articles kept as they are
    fresh: list[Article] = []
    added = 0
    for article in kept:
        old = old_articles.get(article.id)
        if old is not None and before[old].content_hash == article.content_hash:
            # As read now (its file may have moved); from an unchanged file it is already text-less.
            reused.append((old, replace(article, text="") if article.text else article))
        else:
            fresh.append(article)
            added += old is None
    builder = _Builder(
        base=previous.vocab if previous else {}, base_size=len(previous.terms) if previous else 0
    )
    done = 0
    tell("analysing", 0, len(fresh))
    batches = analysed(fresh, analyzer, target_words, workers)
    try:
        for result in batches:
            builder.add(result)
            done += len(result.passages)
            tell("analysing", done, len(fresh))
    finally:
        batches.close()  # stops the worker processes
    n_kept, n_fresh = len(kept), len(fresh)
    fresh = [replace(a, text="") for a in fresh]
    del found, kept  # the articles' texts: the builder has the passages now
    analysed_passages = builder.take(fresh)

    tell("indexing", 0, 1)
    with _small_pages():
        index = assemble(root, params, files, analysed_passages, previous, sorted(reused, key=lambda r: r[0]))
    tell("indexing", 1, 1)
    report = BuildReport(
        articles=n_kept,
        passages=index.n_live,
        added=added,
        updated=n_fresh - added,
        removed=len(before) - len(reused) - (n_fresh - added),
        unchanged=len(reused),
        skipped=tuple(skipped),
        seconds=time.perf_counter() - began,
        version=index.version,
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
