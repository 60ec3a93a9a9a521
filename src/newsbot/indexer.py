"""Building the index from the corpus: full or incremental, with a summary of what happened.

An incremental build re-reads only corpus files whose size or modification time changed and
re-analyses only articles whose content hash changed; unchanged articles keep their passages and
term counts from the previous index. BM25 weights are always recomputed, since every idf depends
on the whole corpus (a vectorised pass, cheap next to analysis).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from newsbot.analysis import Analyzer
from newsbot.bm25 import BM25Params, Forward, build_postings
from newsbot.corpus import dedupe, read_file, scan
from newsbot.index import FileState, Index
from newsbot.passages import TARGET_WORDS, split_passages
from newsbot.records import Article, BuildReport

Progress = Callable[[str, int, int], None]


@dataclass
class _Builder:
    """Accumulates passages and their term counts in index order."""

    vocab: dict[str, int]
    terms: list[str]
    fwd_indptr: list[int] = field(default_factory=lambda: [0])
    fwd_terms: list[np.ndarray] = field(default_factory=list)
    fwd_counts: list[np.ndarray] = field(default_factory=list)
    texts: list[bytes] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    passage_article: list[int] = field(default_factory=list)
    article_start: list[int] = field(default_factory=lambda: [0])
    articles: list[Article] = field(default_factory=list)
    n_postings: int = 0

    def add_analysed(self, article: Article, analyzer: Analyzer, target: int) -> None:
        title_terms = analyzer.terms(article.title)
        for position, text in enumerate(split_passages(article.text, target)):
            counts = Counter(title_terms)
            counts.update(analyzer.terms(text))
            ids = [self.vocab.setdefault(t, len(self.vocab)) for t in counts]
            if len(self.vocab) > len(self.terms):
                self.terms.extend(list(self.vocab)[len(self.terms):])
            self._add_passage(article, position, text.encode("utf-8"),
                              np.array(ids, dtype=np.int32),
                              np.minimum(np.fromiter(counts.values(), dtype=np.int64, count=len(counts)),
                                         65535).astype(np.uint16))
        self._end_article(article)

    def add_reused(self, article: Article, old: Index, old_index: int) -> None:
        first, last = int(old.article_start[old_index]), int(old.article_start[old_index + 1])
        for p in range(first, last):
            lo, hi = int(old.forward.indptr[p]), int(old.forward.indptr[p + 1])
            start, end = int(old.text_offsets[p]), int(old.text_offsets[p + 1])
            self._add_passage(article, int(old.passage_position[p]), bytes(old.texts[start:end]),
                              np.asarray(old.forward.terms[lo:hi]), np.asarray(old.forward.counts[lo:hi]))
        self._end_article(article)

    def _add_passage(self, article: Article, position: int, text: bytes, ids: np.ndarray,
                     counts: np.ndarray) -> None:
        self.fwd_terms.append(ids)
        self.fwd_counts.append(counts)
        self.n_postings += len(ids)
        self.fwd_indptr.append(self.n_postings)
        self.texts.append(text)
        self.positions.append(position)
        self.passage_article.append(len(self.articles))

    def _end_article(self, article: Article) -> None:
        self.articles.append(Article(**{**article.__dict__, "text": ""}))
        self.article_start.append(len(self.positions))


def build_index(root: Path, analyzer: Analyzer, *, previous: Index | None = None,
                exclude: Iterable[str] = (), params: BM25Params = BM25Params(),
                target_words: int = TARGET_WORDS,
                progress: Progress | None = None) -> tuple[Index, BuildReport]:
    """Build the index of the corpus at `root`, reusing `previous` where nothing changed."""
    began = time.perf_counter()
    tell = progress or (lambda stage, done, total: None)
    excluded = set(exclude)
    paths, skipped = scan(root)
    old_articles = {a.id: i for i, a in enumerate(previous.articles)} if previous else {}
    files: dict[str, FileState] = {}
    found: list[Article] = []
    for n, path in enumerate(paths):
        tell("reading", n, len(paths))
        rel = path.name if root.is_file() else path.relative_to(root).as_posix()
        stat = path.stat()
        state = previous.files.get(rel) if previous else None
        if (state and state.size == stat.st_size and state.mtime_ns == stat.st_mtime_ns
                and all(i in old_articles for i in state.article_ids)):
            articles = [previous.articles[old_articles[i]] for i in state.article_ids]  # type: ignore[union-attr]
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

    builder = _Builder(vocab=dict(previous.vocab) if previous else {},
                       terms=list(previous.terms) if previous else [])
    added = updated = unchanged = 0
    for n, article in enumerate(kept):
        if n % 256 == 0:
            tell("analysing", n, len(kept))
        old = old_articles.get(article.id)
        if previous is not None and old is not None and (
                previous.articles[old].content_hash == article.content_hash):
            builder.add_reused(article, previous, old)
            unchanged += 1
            continue
        builder.add_analysed(article, analyzer, target_words)
        if old is None:
            added += 1
        else:
            updated += 1
    tell("analysing", len(kept), len(kept))
    removed = len(set(old_articles) - {a.id for a in kept})

    tell("indexing", 0, 1)
    index = _assemble(builder, root, params, files)
    tell("indexing", 1, 1)
    report = BuildReport(
        articles=len(kept), passages=index.n_passages, added=added, updated=updated,
        removed=removed, unchanged=unchanged, skipped=tuple(skipped),
        seconds=time.perf_counter() - began, version=index.version,
    )
    return index, report


def _assemble(b: _Builder, root: Path, params: BM25Params, files: dict[str, FileState]) -> Index:
    forward = Forward(
        indptr=np.array(b.fwd_indptr, dtype=np.int64),
        terms=np.concatenate(b.fwd_terms) if b.fwd_terms else np.zeros(0, np.int32),
        counts=np.concatenate(b.fwd_counts) if b.fwd_counts else np.zeros(0, np.uint16),
    )
    postings = build_postings(forward, len(b.terms), params)
    sources = sorted({a.source for a in b.articles if a.source})
    source_id = {s: i for i, s in enumerate(sources)}
    article_day = np.array([a.date.toordinal() if a.date else 0 for a in b.articles], dtype=np.int32)
    article_source = np.array([source_id.get(a.source or "", -1) for a in b.articles], dtype=np.int32)
    passage_article = np.array(b.passage_article, dtype=np.int32)
    offsets = np.zeros(len(b.texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in b.texts], out=offsets[1:])
    now = datetime.now(UTC)
    digest = hashlib.sha1("".join(a.content_hash for a in b.articles).encode()).hexdigest()[:8]
    return Index(
        version=f"{now:%Y%m%d-%H%M%S}-{digest}", built_at=now.isoformat(timespec="seconds"),
        corpus=str(root), params=params, terms=tuple(b.terms), vocab=b.vocab,
        forward=forward, postings=postings, articles=tuple(b.articles),
        article_start=np.array(b.article_start, dtype=np.int64),
        passage_article=passage_article,
        passage_position=np.array(b.positions, dtype=np.int32),
        passage_day=article_day[passage_article] if len(passage_article) else np.zeros(0, np.int32),
        passage_source=article_source[passage_article] if len(passage_article) else np.zeros(0, np.int32),
        sources=tuple(sources), texts=b"".join(b.texts), text_offsets=offsets, files=files,
    )
