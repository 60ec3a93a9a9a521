"""Calibrating watches by replaying real news in date order (`newsbot watches replay`).

Each labelled question becomes a standing query (its text; the analyzer drops the question words)
created 7 days before the question's date, when its news had not happened yet, and removed after
that date. The articles are fed one day at a time in date order, through `Watches.match`, the
function the bot uses, with the statistics of everything fed so far (as the live index would have
them after that day's reindex). A watch should fire on its question's `relevant_doc_ids`.

- recall: labelled (question, article) pairs that fired, over those whose article is dated inside
  the watch's week (the others it could never see);
- precision: fires that are labelled, over all fires. The labels name the one or two articles that
  answer the question, not every article on the story, so this is a lower bound; `on_topic` also
  counts fires of articles labelled weakly (search results containing the answer).
A second `Watches` with no threshold records every candidate's strength, for the sweep table.
"""

from __future__ import annotations

import gzip
import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

from newsbot.errors import NewsbotError
from newsbot.index.bm25 import BM25Params
from newsbot.quality.questions import Question, load_questions
from newsbot.records import Article
from newsbot.text.analyzer import Analyzer
from newsbot.watches.matcher import THRESHOLD, ArticleTerms, Query
from newsbot.watches.records import BadWatch
from newsbot.watches.store import WatchStore
from newsbot.watches.watchlist import Watches

LEAD = timedelta(days=7)  # a watch is created this long before its question's date
SWEEP = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
Progress = Callable[[int, int], None]


class RunningStatistics:
    """BM25 statistics of the passages fed so far, as rank-bm25 computes them (`Statistics`)."""

    def __init__(self, params: BM25Params = BM25Params()) -> None:
        self.params = params
        self.df: Counter[str] = Counter()
        self.passages = 0
        self.tokens = 0
        self._floor: float | None = None

    def add(self, article: ArticleTerms) -> None:
        for counts, length in zip(article.counts, article.lengths, strict=True):
            self.df.update(counts.keys())
            self.tokens += length
        self.passages += len(article.counts)
        self._floor = None

    @property
    def avgdl(self) -> float:
        return self.tokens / self.passages if self.passages else 1.0

    def idf(self, term: str) -> float:
        f, n = self.df.get(term, 0), self.passages
        value = math.log(n - f + 0.5) - math.log(f + 0.5)
        return value if value >= 0 else self.floor

    @property
    def floor(self) -> float:
        """rank-bm25's idf for words in over half the passages: epsilon times the average idf."""
        if self._floor is None:
            n = self.passages
            total = sum(math.log(n - f + 0.5) - math.log(f + 0.5) for f in self.df.values())
            self._floor = self.params.epsilon * total / max(len(self.df), 1)
        return self._floor


@dataclass(frozen=True)
class SweepRow:
    threshold: float
    fired: int
    labelled: int  # fires that are labelled (strong)
    on_topic: int  # fires that are labelled strongly or weakly
    found: int  # labelled pairs in reach that fired
    precision: float
    on_topic_precision: float
    recall: float
    per_watch_day: float  # fires per watch per day it was active


@dataclass(frozen=True)
class ReplayReport:
    questions_file: str
    corpus: str
    since: str
    until: str
    watches: int
    skipped_questions: int  # no label in reach, or not a valid watch
    pairs_in_reach: int
    articles_fed: int
    articles_matched_against: int
    threshold: float
    shipped: SweepRow  # the run at `threshold`, as shipped
    sweep: tuple[SweepRow, ...]  # from the run with no threshold
    match_ms_per_article: float  # `Watches.match` of the shipped run, analysis excluded
    # Median relative change of a fire's raw BM25 and of its strength between the day it fired
    # and the last day of the replay (the corpus grows meanwhile): what "does not drift" means.
    drift_raw: float
    drift_strength: float
    seconds: float


def _articles(path: Path) -> Iterator[Article]:
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            day = row.get("date")
            yield Article(
                id=str(row["id"]),
                title=str(row.get("title") or ""),
                text=str(row.get("text") or ""),
                source=row.get("source"),
                date=date.fromisoformat(day[:10]) if day else None,
                url=row.get("url"),
            )


def replay(
    questions_file: Path,
    corpus: Path,
    analyzer: Analyzer,
    *,
    since: date = date(2022, 1, 1),
    until: date = date(2022, 12, 31),
    threshold: float = THRESHOLD,
    history: timedelta | None = None,
    progress: Progress | None = None,
) -> ReplayReport:
    """Replay the articles dated up to `until` in date order; questions dated in [since, until].
    `history`: feed only this much news before the first watch (default: all of it)."""
    began = time.perf_counter()
    if not corpus.is_file():
        raise NewsbotError(f"No article file at {corpus}.")
    questions, _ = load_questions(questions_file)
    start = since - LEAD - history if history is not None else date.min
    articles = sorted(
        (a for a in _articles(corpus) if a.date and start <= a.date <= until), key=lambda a: (a.date, a.id)
    )
    when = {a.id: a.date for a in articles}
    chosen: list[Question] = []
    reach: dict[str, set[str]] = {}
    for q in questions:
        if q.day is None or not since <= q.day <= until:
            continue
        inside = {d for d in q.strong if (day := when.get(d)) is not None and q.day - LEAD <= day <= q.day}
        if inside:
            chosen.append(q)
            reach[q.id] = inside
    runs = {
        "shipped": Watches(WatchStore(Path(":memory:")), analyzer, threshold=threshold, hourly_cap=10**6),
        "all": Watches(WatchStore(Path(":memory:")), analyzer, threshold=1e-9, hourly_cap=10**6),
    }
    owner: dict[str, dict[int, Question]] = {name: {} for name in runs}
    fires: dict[str, list[tuple[str, str, float]]] = {name: [] for name in runs}
    starts: dict[date, list[Question]] = {}
    for q in chosen:
        assert q.day is not None
        starts.setdefault(q.day - LEAD, []).append(q)
    by_day: dict[date, list[Article]] = {}
    for a in articles:
        assert a.date is not None
        by_day.setdefault(a.date, []).append(a)
    stats = RunningStatistics()
    first = min(starts, default=since)
    skipped, matched_against, match_seconds = 0, 0, 0.0
    kept: list[tuple[tuple[str, ...], ArticleTerms, float, float]] = []  # shipped fires, for drift
    days = sorted(by_day)
    for n, day in enumerate(days):
        if progress:
            progress(n, len(days))
        batch = [ArticleTerms.analyse(a, analyzer) for a in by_day[day]]
        for item in batch:
            stats.add(item)  # the day's reindex: its articles are in the statistics
        if day < first:
            continue
        for start in [d for d in starts if d <= day]:
            for q in starts.pop(start):
                try:
                    for name, run in runs.items():
                        owner[name][run.add(q.question, now=datetime.combine(start, clock(), UTC)).id] = q
                except BadWatch:
                    skipped += 1
        now = datetime.combine(day + timedelta(days=1), clock(), UTC)
        for name, run in runs.items():
            for watch in run.list_watches():
                asked = owner[name][watch.id].day
                if asked is not None and asked < day:
                    run.remove(None, watch.id)
            tick = time.perf_counter()
            found = run.match(batch, stats, now=now)
            if name == "shipped":
                match_seconds += time.perf_counter() - tick
                matched_against += len(batch)
            fires[name] += [(owner[name][m.watch.id].id, m.article.id, m.strength) for m in found]
            if name == "shipped":
                items = {t.article.id: t for t in batch}
                for m in found:
                    query = Query.of(m.terms, stats)
                    assert query is not None
                    kept.append((query.terms, items[m.article.id], m.strength, m.strength * query.best))
    for run in runs.values():
        run.close()
    labels = {q.id: set(q.strong) for q in chosen}
    topical = {q.id: set(q.strong) | set(q.weak) for q in chosen}
    watch_days = (len(chosen) - skipped) * (LEAD.days + 1)

    def row(t: float, run: str) -> SweepRow:
        fired = [(q, a) for q, a, s in fires[run] if s >= t]
        found = {(q, a) for q, a in fired if a in reach.get(q, ())}
        in_reach = sum(len(v) for v in reach.values())
        return SweepRow(
            threshold=t,
            fired=len(fired),
            labelled=sum(a in labels[q] for q, a in fired),
            on_topic=sum(a in topical[q] for q, a in fired),
            found=len(found),
            precision=sum(a in labels[q] for q, a in fired) / max(len(fired), 1),
            on_topic_precision=sum(a in topical[q] for q, a in fired) / max(len(fired), 1),
            recall=len(found) / max(in_reach, 1),
            per_watch_day=len(fired) / max(watch_days, 1),
        )

    raw_moves, strength_moves = [], []
    for terms, item, strength, raw in kept:  # the same fires under the statistics of the last day
        query = Query.of(terms, stats)
        assert query is not None
        now_strength, _ = query.strength(item, stats)
        raw_moves.append(abs(now_strength * query.best / raw - 1))
        strength_moves.append(abs(now_strength / strength - 1))
    return ReplayReport(
        questions_file=str(questions_file),
        corpus=str(corpus),
        since=since.isoformat(),
        until=until.isoformat(),
        watches=len(chosen) - skipped,
        skipped_questions=skipped,
        pairs_in_reach=sum(len(v) for v in reach.values()),
        articles_fed=len(articles),
        articles_matched_against=matched_against,
        threshold=threshold,
        shipped=row(threshold, "shipped"),
        sweep=tuple(row(t, "all") for t in SWEEP),
        match_ms_per_article=1000 * match_seconds / max(matched_against, 1),
        drift_raw=statistics.median(raw_moves) if raw_moves else 0.0,
        drift_strength=statistics.median(strength_moves) if strength_moves else 0.0,
        seconds=time.perf_counter() - began,
    )


@dataclass(frozen=True)
class BenchReport:
    """`Watches.match` with many watches over a batch of new articles."""

    watches: int
    articles: int
    analyse_ms: float  # splitting and analysing the articles (a reindex does this anyway)
    match_ms: float  # `Watches.match` given the analysed articles: candidates, scoring, storing
    matches: int

    @property
    def match_ms_per_article(self) -> float:
        return self.match_ms / max(self.articles, 1)


def bench(
    questions_file: Path, corpus: Path, analyzer: Analyzer, *, watches: int = 1000, articles: int = 100
) -> BenchReport:
    """`watches` questions as watches (in file order) against the newest `articles` articles,
    with the statistics of those articles and the 2,000 before them."""
    questions, _ = load_questions(questions_file)
    newest = sorted(_articles(corpus), key=lambda a: (a.date or date.min, a.id))[-(articles + 2000) :]
    stats = RunningStatistics()
    for a in newest[:-articles]:
        stats.add(ArticleTerms.analyse(a, analyzer))
    run = Watches(WatchStore(Path(":memory:")), analyzer, hourly_cap=10**6)
    created = datetime(2000, 1, 1, tzinfo=UTC)
    added = 0
    for q in questions:
        if added == watches:
            break
        try:
            run.add(q.question, now=created)
            added += 1
        except BadWatch:
            continue
    batch = [replace(a, date=None) for a in newest[-articles:]]  # undated: none too old to fire
    tick = time.perf_counter()
    analysed = [ArticleTerms.analyse(a, analyzer) for a in batch]
    analyse_ms = 1000 * (time.perf_counter() - tick)
    for item in analysed:
        stats.add(item)
    tick = time.perf_counter()
    found = run.match(analysed, stats)
    match_ms = 1000 * (time.perf_counter() - tick)
    run.close()
    return BenchReport(added, len(batch), analyse_ms, match_ms, len(found))
