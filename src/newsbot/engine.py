"""The core facade the CLI and the Discord bot share: ask, reindex, stats, corpus changes.

Thread-safe: `ask` reads whichever index is live; `reindex` builds a new one beside it and swaps
the reference in one assignment, so questions keep being answered during a rebuild.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from newsbot.answers import answer
from newsbot.corpus import edits
from newsbot.errors import IndexBusy, IndexCorrupt, NewsbotError, NotFound
from newsbot.index.bm25 import BM25Params
from newsbot.index.build import build_index
from newsbot.index.fingerprint import fingerprint
from newsbot.index.store import Index
from newsbot.records import Answer, Article, BuildReport, Filters, IndexStats
from newsbot.settings import Settings
from newsbot.text.analyzer import Analyzer, default_analyzer
from newsbot.text.passages import TARGET_WORDS

Progress = Callable[[str, int, int], None]
log = logging.getLogger(__name__)


class Engine:
    """Corpus, index and answers behind one small, thread-safe interface."""

    def __init__(
        self, settings: Settings, index: Index | None = None, analyzer: Analyzer | None = None
    ) -> None:
        self.settings = settings
        self._base = analyzer or default_analyzer()
        self._analysis = fingerprint(self._base, TARGET_WORDS, BM25Params())  # what `reindex` makes
        self.damage: IndexCorrupt | None = None  # why the saved index could not be opened, if so
        self._lock = threading.Lock()
        self._use(index)

    @classmethod
    def open(cls, settings: Settings, *, build_if_missing: bool = True) -> Engine:
        """Load the saved index; build it first when there is none (or it is damaged, or was
        analysed otherwise than this engine would) and `build_if_missing`."""
        try:
            index, damage = Index.load(settings.index_dir), None
        except IndexCorrupt as e:
            log.warning("%s", e.message)
            index, damage = None, e
        engine = cls(settings, index)
        engine.damage = damage
        stale = index is not None and index.analysis != engine._analysis
        if stale:
            log.warning("The index was analysed otherwise than this engine analyses: it is rebuilt.")
        if (engine._index is None or stale) and build_if_missing:
            engine.reindex()
        return engine

    def _use(self, index: Index | None) -> None:
        """Answer from `index`, with an analyzer that knows its stems (when analysed alike)."""
        alike = index is not None and index.analysis == self._analysis
        self.analyzer = self._base.knowing(index.stems) if index is not None and alike else self._base
        self._index = index

    @property
    def index(self) -> Index:
        if self._index is None:
            raise NewsbotError("There is no index yet: run `newsbot index` (or /reindex) first.")
        return self._index

    @property
    def version(self) -> str:
        return self._index.version if self._index else "none"

    @property
    def reindexing(self) -> bool:
        return self._lock.locked()

    def ask(self, question: str, k: int = 3, filters: Filters = Filters(), per_article: int = 1) -> Answer:
        """The best passages for a question (see `newsbot.answers.answer.answer`)."""
        return answer(self.index, self.analyzer, question, k, filters, per_article)

    def reindex(self, *, full: bool = False, progress: Progress | None = None) -> BuildReport:
        """Bring the index up to date with the corpus; only one reindex runs at a time."""
        if not self._lock.acquire(blocking=False):
            raise IndexBusy("A reindex is already running; wait for it to finish.")
        try:
            corpus = self.settings.corpus_dir
            if not corpus.exists():
                raise NewsbotError(f"The corpus folder {corpus} does not exist.")
            previous = None if full else self._index
            exclude = edits.removed_ids(self.settings.data_dir)
            try:
                index, report = build_index(
                    corpus, self._base, previous=previous, exclude=exclude, progress=progress
                )
            except IndexCorrupt as e:  # a file read only by a reindex (files.json) is damaged
                log.warning("%s", e.message)
                self.damage, previous = e, None
                index, report = build_index(corpus, self._base, exclude=exclude, progress=progress)
            if previous is None and self.damage is not None:  # the first build since: say why
                report = replace(report, full_because=self.damage.message)
                self.damage = None
            if progress:
                progress("saving", 0, 1)
            self._use(index.save(self.settings.index_dir))  # memory-mapped, like at start-up
            return report
        finally:
            self._lock.release()

    def stats(self) -> IndexStats:
        index = self.index
        counts = Counter(a.source for a in index.articles if a.source)
        days = [a.date for a in index.articles if a.date]
        return IndexStats(
            articles=len(index.articles),
            passages=index.n_live,
            sources=tuple(counts.most_common()),
            first_date=min(days, default=None),
            last_date=max(days, default=None),
            version=index.version,
            built_at=index.built_at,
            size_bytes=index.size_bytes,
            corpus=index.corpus,
        )

    def sources(self) -> list[str]:
        return list(self._index.sources) if self._index else []

    def find_article(self, article_id: str) -> Article:
        for article in self.index.articles:
            if article.id == article_id:
                return article
        raise NotFound(f"No article with id “{article_id[:80]}” is indexed.")

    def add_file(self, filename: str, data: bytes) -> tuple[Article, ...]:
        """Validate an uploaded article file and save it into the corpus (not yet indexed)."""
        return edits.add_file(self.settings, filename, data)

    def remove_article(self, article_id: str) -> Article:
        """Remove an article from the corpus (effective at the next reindex)."""
        article = self.find_article(article_id)
        state = self.index.files.get(article.path or "")
        return edits.remove_article(self.settings, article, state.article_ids if state else ())
