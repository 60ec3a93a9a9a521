"""The core facade the CLI and the Discord bot share: ask, reindex, stats, corpus changes.

Thread-safe: `ask` reads whichever index is live; `reindex` builds a new one beside it and swaps
the reference in one assignment, so questions keep being answered during a rebuild.

Several processes may share one data folder (a bot, `newsbot index` from cron, a feed poller,
shards): a reindex holds the folder's one writer lock and starts from whatever version is live
then; each engine holds a lease on the versions it answers from, so no writer deletes them; and
`follow` (the bot runs it) swaps to a version another process published within a second or two.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from newsbot.answers import answer
from newsbot.answers.filters import resolve_source
from newsbot.corpus import edits
from newsbot.corpus.scope import Scope
from newsbot.elsewhere import reindex_in_child
from newsbot.errors import CorpusMismatch, IndexBusy, IndexCorrupt, NewsbotError, NotFound
from newsbot.index import versions
from newsbot.index.bm25 import BM25Params
from newsbot.index.build import build_index
from newsbot.index.fingerprint import fingerprint
from newsbot.index.keys import Keys
from newsbot.index.search import warm
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
        self,
        settings: Settings,
        index: Index | None = None,
        analyzer: Analyzer | None = None,
        *,
        passage_words: int = TARGET_WORDS,  # another length: benchmarks at a given passage count
    ) -> None:
        self.settings = settings
        self._base = analyzer or default_analyzer()
        self.passage_words = passage_words
        self._analysis = fingerprint(self._base, passage_words, BM25Params())  # what `reindex` makes
        self.damage: IndexCorrupt | None = None  # why the saved index could not be opened, if so
        self._lock = threading.Lock()
        self._swap = threading.Lock()
        self._leases: list[versions.Lease] = []  # the live version's, and the one before it
        self._use(index)

    @classmethod
    def open(
        cls, settings: Settings, *, build_if_missing: bool = True, passage_words: int = TARGET_WORDS
    ) -> Engine:
        """Load the saved index; build it first when there is none (or it is damaged, or was
        analysed otherwise than this engine would) and `build_if_missing`."""
        index, damage = Index.load_newest(settings.index_dir)
        if damage is not None:
            log.warning("%s", damage.message)
            if index is not None:
                log.warning(
                    "Answering from the newest intact version, %s, until it is rebuilt.", index.version
                )
        engine = cls(settings, index, passage_words=passage_words)
        engine.damage = damage
        stale = index is not None and index.analysis != engine._analysis
        if stale:
            log.warning("The index was analysed otherwise than this engine analyses: it is rebuilt.")
        if (engine._index is None or stale or damage is not None) and build_if_missing:
            engine.reindex()
        return engine

    def _use(self, index: Index | None) -> None:
        """Answer from `index`, with an analyzer that knows its stems (when analysed alike), and
        hold a lease on its version (and on the one before, which questions under way may read)."""
        with self._swap:
            folder = self.settings.index_dir
            if index is not None and (folder / index.version).is_dir():
                self._leases.append(versions.Lease.take(folder, index.version))
                while len(self._leases) > 2:
                    self._leases.pop(0).release()
            alike = index is not None and index.analysis == self._analysis
            self.analyzer = self._base.knowing(index.stems) if index is not None and alike else self._base
            self._index = index

    def refresh(self) -> bool:
        """Swap to the live version when another process published a newer one; True if swapped.
        A version that does not load is logged and skipped (the current one keeps answering)."""
        folder = self.settings.index_dir
        live = versions.current(folder)
        if live is None or live == self.version:
            return False
        lease = versions.Lease.take(folder, live)  # before opening: no writer may delete it now
        try:
            index = Index.open(folder / live)
        except IndexCorrupt as e:
            log.warning("Not switching to index version %s: %s", live, e.message)
            index = None
        finally:
            lease.release()  # `_use` takes its own
        if index is None:
            return False
        self._use(index)
        log.info("Switched to index version %s.", live)
        return True

    def follow(self, every: float = 1.0) -> threading.Event:
        """Check for a newer version every `every` seconds in a background thread, and swap to it
        between questions. Set the returned event to stop."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every):
                if self._lock.locked():
                    continue  # this engine's own reindex swaps when it is done
                try:
                    self.refresh()
                except Exception:  # the thread must outlive any one failed check
                    log.exception("Checking for a newer index version failed")

        threading.Thread(target=loop, name="newsbot-follow", daemon=True).start()
        return stop

    def close(self) -> None:
        """Give up this engine's leases (a process that ends gives them up by itself)."""
        with self._swap:
            for lease in self._leases:
                lease.release()
            self._leases.clear()

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

    def warm(self) -> None:
        """Load the compiled search (`newsbot.index.search.warm`), so that a running bot's first
        question does not wait for it."""
        if self._index is not None:
            warm(self._index)

    def ask(self, question: str, k: int = 3, filters: Filters = Filters(), per_article: int = 1) -> Answer:
        """The best passages for a question (see `newsbot.answers.answer.answer`). A source filter
        names a source the asker can see, or is refused with the closest names."""
        if filters.source:
            source = resolve_source(filters.source, self.sources(Scope(filters.guild)))
            filters = dataclasses.replace(filters, source=source)
        return answer(self.index, self.analyzer, question, k, filters, per_article)

    @property
    def indexed_corpus(self) -> Path | None:
        """The corpus the index was built from (None without an index)."""
        return Path(self._index.corpus) if self._index is not None and self._index.corpus else None

    def check_corpus(self, corpus: Path) -> None:
        """Refuse (CorpusMismatch) when the index holds another corpus than `corpus`."""
        held = self.indexed_corpus
        if held is not None and held.resolve() != corpus.resolve():
            raise CorpusMismatch(
                f"The index in {self.settings.index_dir} holds the corpus {held}, not {corpus}: run "
                f"`newsbot index --corpus {corpus} --replace` to index that one instead."
            )

    def reindex(
        self,
        *,
        full: bool = False,
        progress: Progress | None = None,
        replace: bool = False,
        here: bool | None = None,
    ) -> BuildReport:
        """Bring the index up to date with the corpus; only one reindex runs at a time in this
        engine, and one writer at a time in the data folder (others wait for it).

        Without `replace`, an index of another corpus is never replaced, nor one whose build
        would drop more than half its articles (an emptied or wrong folder): CorpusMismatch.
        Unless `here` (default: not `NEWSBOT_REINDEX_IN_CHILD`), the build runs in a child process
        (`newsbot.elsewhere`), so its memory goes back to the system when it is done.
        """
        if not self._lock.acquire(blocking=False):
            raise IndexBusy("A reindex is already running; wait for it to finish.")
        in_child = not (self.settings.reindex_in_child is False if here is None else here)
        if in_child and self.passage_words == TARGET_WORDS:  # the child splits at the default
            try:
                report = reindex_in_child(self.settings, full=full, replace=replace, progress=progress)
                self.refresh()
                return report
            finally:
                self._lock.release()

        def waiting(who: str) -> None:
            log.info("Waiting for %s, which is updating the index.", who)
            if progress:
                progress("waiting for another update", 0, 1)

        try:
            with versions.writer(self.settings.index_dir, on_wait=waiting):
                self.refresh()  # start from what another writer may have published meanwhile
                return self._rebuild(full, progress, replace)
        finally:
            self._lock.release()

    def add(self, paths: list[Path], progress: Progress | None = None) -> BuildReport:
        """Index the corpus files `paths` (new, rewritten or deleted) and nothing else: the rest
        of the corpus is not listed or read, so a few articles cost a fraction of a second (a feed
        poller knows what it wrote). Without an index yet, the whole corpus is indexed."""
        if not self._lock.acquire(blocking=False):
            raise IndexBusy("A reindex is already running; wait for it to finish.")
        try:
            with versions.writer(self.settings.index_dir):
                self.refresh()
                previous = self._index
                if previous is None or previous.analysis != self._analysis:
                    return self._rebuild(False, progress, False)
                corpus = self.settings.corpus_dir.resolve()
                self.check_corpus(corpus)
                exclude = edits.removed_ids(self.settings.data_dir)
                files = [Path(p).resolve() for p in paths]
                outside = [str(p) for p in files if not p.is_relative_to(corpus)]
                if outside:
                    raise NewsbotError(f"Not in the corpus folder {corpus}: {', '.join(outside[:3])}")
                folders = [str(p) for p in files if p.is_dir()]
                if folders:  # its files are what the index records, not the folder
                    raise NewsbotError(f"Name files, not folders: {', '.join(folders[:3])}")
                index, report = build_index(
                    corpus, self._base, previous=previous, exclude=exclude, progress=progress,
                    only=files, target_words=self.passage_words,
                )  # fmt: skip
                try:
                    for segment in previous.segments:  # checked while it built (`check_soon`)
                        segment.verify()  # a damaged segment is rebuilt, never carried forward
                except IndexCorrupt as e:
                    log.warning("%s", e.message)
                    self.damage = e
                    return self._rebuild(True, progress, False)
                self._use(index.save(self.settings.index_dir))
                return report
        finally:
            self._lock.release()

    def _rebuild(self, full: bool, progress: Progress | None, replace: bool) -> BuildReport:
        corpus = self.settings.corpus_dir.resolve()
        if not corpus.exists():
            raise NewsbotError(f"The corpus folder {corpus} does not exist.")
        if not replace:
            self.check_corpus(corpus)
        previous = None if full else self._index
        exclude = edits.removed_ids(self.settings.data_dir)
        try:
            index, report = build_index(
                corpus, self._base, previous=previous, exclude=exclude, progress=progress,
                target_words=self.passage_words,
            )  # fmt: skip
            for segment in previous.segments if previous else ():  # checked while it built
                segment.verify()  # a damaged segment is rebuilt, never carried forward
        except IndexCorrupt as e:  # a segment, or a file read only by a reindex, is damaged
            log.warning("%s", e.message)
            self.damage, previous = e, None
            index, report = build_index(
                corpus, self._base, exclude=exclude, progress=progress, target_words=self.passage_words
            )
        if previous is None and self.damage is not None:  # the first build since: say why
            report = dataclasses.replace(report, full_because=self.damage.message)
            self.damage = None
        if not replace and self._index is not None:  # by the keys: no article is parsed
            before = set(Keys.of(self._index.articles).ids)
            lost = len(before - set(Keys.of(index.articles).ids))
            if lost * 2 > len(before):
                raise CorpusMismatch(
                    f"This build would remove {lost:,} of the {len(before):,} indexed articles "
                    f"(is {corpus} the right folder?); the index is unchanged. Run "
                    "`newsbot index --replace` if that is what you want."
                )
        if progress:
            progress("saving", 0, 1)
        self._use(index.save(self.settings.index_dir))  # memory-mapped, like at start-up
        return report

    def stats(self, scope: Scope = Scope()) -> IndexStats:
        """What `scope` sees of the index: the operator's content, and its own."""
        index = self.index
        articles = [a for a in index.articles if scope.sees(a.path)]
        counts = Counter(a.source for a in articles if a.source)
        days = [a.date for a in articles if a.date]
        passages = index.n_live
        if index.passage_owner.any():
            passages = int(
                (index.filter_mask(Filters(guild=scope.guild)) & (index.passage_article >= 0)).sum()
            )
        return IndexStats(
            articles=len(articles),
            passages=passages,
            sources=tuple(counts.most_common()),
            first_date=min(days, default=None),
            last_date=max(days, default=None),
            version=index.version,
            built_at=index.built_at,
            size_bytes=index.size_bytes,
            corpus=index.corpus,
        )

    def sources(self, scope: Scope = Scope()) -> list[str]:
        """The sources `scope` may see: the operator's, and its own."""
        index = self._index
        if index is None:
            return []
        if not index.passage_owner.any():
            return list(index.sources)
        seen = index.filter_mask(Filters(guild=scope.guild)) & (index.passage_source >= 0)
        return [index.sources[i] for i in sorted(set(index.passage_source[seen].tolist()))]

    def indexed_ids(self) -> set[str]:
        """The ids of every indexed article."""
        return {a.id for a in self.index.articles}

    def find_article(self, article_id: str, scope: Scope = Scope()) -> Article:
        """The indexed article `scope` owns with this id (another owner's is not found)."""
        for article in self.index.articles:
            if article.id == article_id and scope.owns(article.path):
                return article
        raise NotFound(f"No article with id “{article_id[:80]}” is indexed.")

    def add_file(self, filename: str, data: bytes, scope: Scope = Scope()) -> tuple[Article, ...]:
        """Validate an uploaded article file and save it into `scope`'s uploads (not yet indexed)."""
        indexed = list(self._index.articles) if self._index else []
        texts = {a.text_hash: a for a in indexed if a.text_hash}
        return edits.add_file(self.settings, filename, data, scope, {a.id for a in indexed}, texts)

    def remove_article(self, article_id: str, scope: Scope = Scope()) -> edits.Removal:
        """Remove an article `scope` owns (effective at the next reindex)."""
        return edits.remove_article(self.settings, self.find_article(article_id, scope))
