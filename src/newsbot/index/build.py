"""Building the index from the corpus: full or incremental, with a summary of what happened.

An incremental build re-reads only corpus files whose size or modification time changed and
re-analyses only articles whose content hash changed. Unchanged articles keep their passages in
the previous index's segments; the new and changed ones go into a new segment, and the passages
they replace become dead (see `newsbot.index.merge`), so a small change makes a small reindex.
A cold build keeps its memory bounded: texts go to a scratch file as read, and every so many
passages become a segment as they are analysed (see `newsbot.index.chunks`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from newsbot.corpus.dedupe import dedupe_keys, text_key
from newsbot.corpus.listing import Listing, listing
from newsbot.index import scratch
from newsbot.index.background import small_pages, spare_core
from newsbot.index.bm25 import BM25Params
from newsbot.index.builder import Builder
from newsbot.index.catalog import Articles, FileState, Spliced
from newsbot.index.chunks import CHUNK_PASSAGES, Spill
from newsbot.index.coldread import ColdRead
from newsbot.index.filestates import Files, changed
from newsbot.index.fingerprint import changes, fingerprint
from newsbot.index.keys import Keys
from newsbot.index.merge import Fresh, Numbers, assemble
from newsbot.index.named import Named, read_changed, read_named
from newsbot.index.processes import Beside
from newsbot.index.readers import read_many, read_one
from newsbot.index.segment import check_soon, checks_settled
from newsbot.index.store import Index
from newsbot.index.textspill import TextSpill
from newsbot.index.workers import _FORKED_MIN_CHARS, analysed
from newsbot.records import Article, BuildReport, Skipped
from newsbot.text.analyzer import Analyzer
from newsbot.text.passages import TARGET_WORDS

Progress = Callable[[str, int, int], None]
log = logging.getLogger(__name__)


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
    only: Iterable[Path] | None = None,
    chunk_passages: int | None = CHUNK_PASSAGES,
) -> tuple[Index, BuildReport]:
    """Build the index of the corpus at `root`, reusing `previous` where nothing changed.

    `workers`: processes that analyse text; by default one per core when there is a lot of it.
    `only`: the corpus files that changed (new, rewritten or deleted), when the caller knows
    them (a feed poller): the rest of the corpus is then neither listed nor looked at, and the
    index costs in proportion to these files (without `previous`, the whole corpus is read).
    `chunk_passages`: a build without a previous index makes a segment of every so many passages
    (bounded memory, see `newsbot.index.chunks`); None: one segment.
    """
    began = time.perf_counter()
    analysis = fingerprint(analyzer, target_words, params)
    previous, full_because = _reusable(previous, analysis)
    if previous is not None:  # the workers need not stem the words it has
        analyzer = analyzer.knowing(previous.stems)
    elif analyzer.known_stems is not None:  # a new index's stem table gets every word's stem
        analyzer = analyzer.knowing({})
    beside = previous is not None and spare_core()  # else a save checks them, and this lists
    # Listing waits on a stat per file: done meanwhile (forked first, while no thread runs), as
    # the previous index's keys and file states are parsed here.
    scan = beside and only is None
    listed = Beside(lambda: listing(root), "newsbot-listing") if scan else None
    if beside and previous is not None:  # checked while this builds: a save shares intact files
        check_soon(previous.segments)
    build = _Build(root, previous, progress or (lambda stage, done, total: None), listed)
    if only is None:  # not for a poller's few files: a build killed before left its scratch files
        scratch.remove_stale()
    if previous is None and chunk_passages:
        build.spill = TextSpill()
        build.cold = ColdRead()  # the articles' metadata and files' states to scratch files too
    if previous is not None and only is not None:
        build.read_only(list(only), set(exclude))
    elif not build.read_changed(set(exclude)):
        build.read(set(exclude))
        build.sort_out()
    if previous is None or sum(len(a.text) for a in build.fresh) >= _FORKED_MIN_CHARS:
        checks_settled()  # workers are forked only from a process running no other thread
    chunks = chunk_passages if previous is None else None
    fresh = build.analyse(analyzer, target_words, workers, chunks, params)
    build.tell("indexing", 0, 1)
    kept, articles = build.articles()
    with small_pages():
        index = assemble(root, params, build.files, fresh, previous, kept, articles, analysis)
    build.tell("indexing", 1, 1)
    return index, build.report(index, time.perf_counter() - began, full_because)


def _reusable(previous: Index | None, analysis: dict[str, Any]) -> tuple[Index | None, str]:
    """`previous` when it was analysed as now, else None and why (its terms would not meet the new)."""
    if previous is None or previous.analysis == analysis:
        return previous, ""
    why = f"the analysis changed ({', '.join(changes(previous.analysis, analysis))})"
    log.warning("Re-analysing every article: %s since the index was built.", why)
    return None, why


@dataclass
class _Build:
    """One build's articles through its phases: `read` the corpus, `sort_out` what the previous
    index has as it is, `analyse` the rest (their texts are dropped as soon as analysed), `report`.

    The previous index's articles are never all parsed: what deciding needs (ids, paths, content
    and text keys) is in its `Keys`, and the articles of unchanged files are carried as numbers."""

    root: Path
    previous: Index | None
    tell: Progress
    listed: Beside[tuple[Listing, list[Skipped]]] | None = None  # the corpus, being listed
    listed_now: tuple[Listing, list[Skipped]] | None = None  # and, once asked for, as listed
    before: Sequence[Article] = field(init=False)  # the previous index's articles (parsed on demand)
    keys: Keys = field(init=False)  # theirs
    old: Mapping[str, int] = field(default_factory=dict)  # a scan's: article id -> its number in `before`
    files: Mapping[str, FileState] = field(default_factory=dict)
    # Read, not excluded, in corpus order: an article read now (with its text), or the number of
    # a previous article from a file unchanged since.
    found: list[Article | int] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    # (number in `before`, the article as read now or None: as `before` has it)
    reused: list[tuple[int, Article | None]] = field(default_factory=list)
    fresh: Sequence[Article] = field(default_factory=list)  # new or changed: analysed
    added: int = 0  # of `fresh`, the new ones
    kept: int = 0  # articles after duplicates are dropped
    excluded: set[str] = field(default_factory=set)  # removed ids
    kept_numbers: npt.NDArray[np.int64] | None = None  # with `read_only`: the previous articles kept
    spill: TextSpill | None = None  # where `read` puts the texts (a cold build's: see `textspill`)
    cold: ColdRead | None = None  # and, with it, the articles and files' states (see `coldread`)
    cold_notes: list[Skipped] = field(default_factory=list)  # its dedupe's, for `sort_out`

    def __post_init__(self) -> None:
        self.before = self.previous.articles if self.previous else []
        self.keys = Keys.of(self.before)

    def read(self, excluded: set[str]) -> None:
        """Every corpus file's articles: those of unchanged files as the previous index has them."""
        self.excluded = excluded
        self.tell("reading", 0, 0)  # listing the corpus is part of reading it
        self.old = self.keys.numbers()
        before: Mapping[str, FileState] = self.previous.files if self.previous else {}
        states = before if isinstance(before, Files) else Files(None, before)
        states.noted()  # parsed while the corpus is listed
        listed, skipped = self._listing()
        self.skipped = list(skipped)
        carried = states.carried(listed, self.old, self.keys.paths)
        ids, found, noted = self.keys.ids, self.found, states.noted()
        changes: dict[str, FileState | None] = {}
        total, reads = len(listed.paths), 0
        unread = [n for n, numbers in enumerate(carried) if numbers is None]
        reads_of = read_many(
            self.root, [listed.paths[n] for n in unread], sum(listed.sizes[n] for n in unread), self.spill
        )
        with closing(reads_of) as reading:
            for n, numbers in enumerate(carried):
                rel = listed.paths[n]
                if numbers is not None:  # unchanged: its articles as the previous index has them
                    found.extend(numbers if not excluded else (k for k in numbers if ids[k] not in excluded))
                    if rel in noted:
                        self.skipped.extend(states.notes(rel))
                    continue
                if not reads % 64:
                    self.tell("reading", n, total)
                reads += 1
                read = next(reading)
                articles, notes = read.articles, read.skipped
                if self.cold is not None and self.spill is not None:  # deduplicated, written as read
                    self.cold.file(rel, listed.sizes[n], listed.mtimes[n], read, excluded, self.spill.put)
                    self.skipped.extend(notes)
                    continue
                state = FileState(listed.sizes[n], listed.mtimes[n], tuple(a.id for a in articles), notes)
                if before.get(rel) != state:
                    changes[rel] = state
                kept = (a for a in articles if a.id not in excluded)
                found.extend(kept if self.spill is None else map(self.spill.put, kept))
                self.skipped.extend(notes)
        self.tell("reading", total, total)
        if self.cold is not None:
            self.fresh, self.files, self.cold_notes = self.cold.finish()
            return
        if before:
            listed_paths = set(listed.paths)
            changes.update(dict.fromkeys(p for p in before if p not in listed_paths))
        self.files = changed(before, changes)  # a saved index's: as the changes to its states

    def _listing(self) -> tuple[Listing, list[Skipped]]:
        if self.listed_now is None:
            self.listed_now = self.listed.result() if self.listed else listing(self.root)
        return self.listed_now

    def read_changed(self, excluded: set[str]) -> bool:
        """A scan's changes read as if named (`read_only`), when the previous index is at hand
        and reading them alone decides as a scan of the whole corpus would (`read_changed`)."""
        if self.previous is None or self.cold is not None or self.root.is_file():
            return False
        self.excluded = excluded
        self.tell("reading", 0, 0)
        # Made while the corpus is listed: the ids' numbers, and the whole lookup (`read_named`'s)
        # where the listing runs in parallel with this interpreter; the saved states parsed.
        if self.listed is not None and self.listed.forked:
            _ = self.keys.lookup
        before, self.old = self.previous.files, self.keys.numbers()
        if isinstance(before, Files):
            before.noted()
        got = read_changed(self.root, before, self.keys, self.old, self._listing(), excluded, self.tell)
        if got is not None:
            self._take(got)
        return got is not None

    def _read(self, rel: str) -> tuple[tuple[Article, ...], tuple[Skipped, ...]]:
        read = read_one(self.root, self.root.is_file(), rel)
        return read.articles, read.skipped

    def read_only(self, paths: list[Path], excluded: set[str]) -> None:
        """The articles of `paths` (files new, rewritten or gone) only; every other file is taken
        to be as the previous index has it (see `named`)."""
        assert self.previous is not None
        self.excluded = excluded
        self._take(read_named(self.root, self.previous.files, self.keys, paths, excluded, self.tell))

    def _take(self, got: Named) -> None:
        self.fresh, self.kept_numbers, self.files, self.added = got.fresh, got.kept, got.files, got.added
        self.skipped.extend(got.skipped)
        self.kept = len(self.kept_numbers) + len(self.fresh)

    def articles(self) -> tuple[Numbers, Sequence[Article]]:
        """The previous articles kept (their numbers, ascending) and all the new index's articles:
        the kept ones, then the fresh. Kept lines are copied on save when they are unchanged."""
        base = self.previous.articles if self.previous else None
        if self.cold is not None:
            return [], self.fresh  # not made a list: it stays in its scratch file
        fresh = list(self.fresh)
        if self.kept_numbers is not None:
            if isinstance(base, Articles):
                return self.kept_numbers, Spliced(base, self.kept_numbers, fresh)
            return self.kept_numbers, [self.before[n] for n in self.kept_numbers.tolist()] + fresh
        numbers = [n for n, _ in self.reused]
        paths = self.keys.paths
        if isinstance(base, Articles) and all(a is None or a.path == paths[n] for n, a in self.reused):
            return numbers, Spliced(base, np.array(numbers, dtype=np.int64), fresh)
        return numbers, [self.before[n] if a is None else a for n, a in self.reused] + fresh

    def sort_out(self) -> None:
        """Duplicates dropped; the rest reused as they are (same content) or to be analysed."""
        if self.cold is not None:  # a cold build's: done while reading, all fresh
            self.skipped.extend(self.cold_notes)
            self.kept = self.added = len(self.fresh)
            return
        keys, dupes = self.keys, list[Skipped]()
        while True:
            plain = self._clash_free()
            if plain is not None:  # as `dedupe_keys` would have it: nothing dropped or renamed
                kept = plain
                break
            kept, dupes = dedupe_keys(map(self._key, self.found))
            # An unchanged file's article that must now be renamed (another file took its id) is
            # analysed anew, so its file is read again for its text; then the dedupe is redone.
            again = {
                keys.paths[x]
                for x, i in ((self.found[n], i) for n, i in kept)
                if isinstance(x, int) and (i != keys.ids[x] or not keys.text_hashes[x])
            }
            if not again:
                break
            self._read_again(again)
        self.skipped.extend(dupes)
        found, self.found = self.found, []
        self.kept = 0
        fresh: list[Article] = []
        for n, i in kept:
            if i in self.excluded:  # a removed renamed duplicate (`x~2`) too
                continue
            self.kept += 1
            item = found[n]
            if isinstance(item, int):
                self.reused.append((item, None))
                continue
            article = item if item.id == i else replace(item, id=i)
            old = self.old.get(article.id)
            if old is not None and keys.hashes[old] == article.content_hash:
                self.reused.append((old, replace(article, text="")))  # as read now: its file may have moved
            else:
                fresh.append(article)
                self.added += old is None
        self.fresh = fresh
        self.reused.sort(key=lambda r: r[0])

    def _clash_free(self) -> list[tuple[int, str]] | None:
        """`dedupe_keys`' outcome when it drops and renames nothing (else None): every article
        carried from the previous index (deduped by its build) has its text key, and no two
        articles share an id or a text key. The common case of a scan, checked in one pass."""
        keys, ids, texts = self.keys, [], set()
        for item in self.found:
            if isinstance(item, int):
                text = keys.text_hashes[item]
                if not text:
                    return None
                ids.append(keys.ids[item])
                texts.add(text)
            else:
                ids.append(item.id)
                texts.add(item.text_hash or text_key(item.text))
        if len(texts) != len(ids) or len(set(ids)) != len(ids):
            return None
        return list(enumerate(ids))

    def _key(self, item: Article | int) -> tuple[str, str | None, str]:
        if isinstance(item, int):
            return self.keys.ids[item], self.keys.paths[item], self.keys.text_hashes[item] or f"?{item}"
        return item.id, item.path, item.text_hash or text_key(item.text)

    def _read_again(self, rels: set[str | None]) -> None:
        """`found` with the articles of the files `rels` read, instead of carried as numbers."""
        done: set[str] = set()
        found: list[Article | int] = []
        for item in self.found:
            rel = self.keys.paths[item] if isinstance(item, int) else None
            if rel is None or rel not in rels:
                found.append(item)
            elif rel not in done:
                done.add(rel)
                found.extend(a for a in self._read(rel)[0] if a.id not in self.excluded)
        self.found = found

    def analyse(
        self,
        analyzer: Analyzer,
        target_words: int,
        workers: int | None,
        chunk: int | None,
        params: BM25Params,
    ) -> Fresh:
        """The fresh articles' passages, analysed (in worker processes when that pays); with
        `chunk`, every so many of them made a segment as they come."""
        previous = self.previous
        builder = Builder(
            base=previous.vocab if previous else {},
            base_size=len(previous.terms) if previous else 0,
            spill=Spill() if chunk else None,
            chunk=chunk or CHUNK_PASSAGES,
            params=params,
        )
        done = 0
        self.tell("analysing", 0, len(self.fresh))
        batches = analysed(self.fresh, analyzer, target_words, workers, self.spill)
        try:
            for result in batches:
                builder.add_counted(result)
                done += len(result.passages)
                self.tell("analysing", done, len(self.fresh))
        finally:
            batches.close()  # stops the worker processes
            if self.spill is not None:
                self.spill.close()
        if self.cold is None:  # (its articles never held their texts)
            self.fresh = [replace(a, text="") for a in self.fresh]  # the builder has the passages now
        return builder.take(self.fresh)

    @property
    def unchanged(self) -> int:
        return len(self.reused) if self.kept_numbers is None else len(self.kept_numbers)

    def report(self, index: Index, seconds: float, full_because: str) -> BuildReport:
        updated = len(self.fresh) - self.added
        return BuildReport(
            articles=self.kept,
            passages=index.n_live,
            added=self.added,
            updated=updated,
            removed=len(self.before) - self.unchanged - updated,
            unchanged=self.unchanged,
            skipped=tuple(self.skipped),
            seconds=seconds,
            version=index.version,
            full_because=full_because,
        )
