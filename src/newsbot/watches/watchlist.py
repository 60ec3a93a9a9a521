"""`Watches`: standing queries matched against the articles a reindex brings in.

The entry point is `match(new_articles, index)`, called with the new and updated articles of a
reindex (the feeds call it after theirs); `check(index)` finds those articles itself, by comparing
the index with the articles it has already looked at. Each match is stored once per watch and
story with how to deliver it (`Delivery`); the front end posts the `NOW` ones and reports back with
`mark_delivered` or `mark_failed` (a failure pauses the watch, with the reason), and posts
`digests()` once a day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from newsbot.corpus.scope import Scope
from newsbot.index.store import Index
from newsbot.records import Article
from newsbot.settings import Settings
from newsbot.text.analyzer import Analyzer, default_analyzer
from newsbot.text.passages import TARGET_WORDS
from newsbot.watches.digest import Digest, group
from newsbot.watches.matcher import THRESHOLD, ArticleTerms, IndexStatistics, Query, Statistics, WatchIndex
from newsbot.watches.records import BadWatch, Delivery, Match, Mode, Watch, aware, utcnow
from newsbot.watches.store import WatchStore, open_watch_store
from newsbot.watches.stories import sketch, story_key

HOURLY_CAP = 5  # instant posts per watch per hour; the rest go to the digest
MAX_AGE = timedelta(hours=48)  # older articles (by their date) never fire
MAX_QUERY_CHARS = 200
FOREVER = timedelta(days=36500)  # a mute with no end

Visibility = Callable[[Watch, Article], bool]


def visible(watch: Watch, article: Article) -> bool:
    """Whether the watch's guild may see the article: the operator's content, and its own guild's
    (`corpus.scope`), never another guild's. An operator watch (no guild) sees the operator's only."""
    return Scope(watch.guild_id).sees(article.path)


@dataclass(frozen=True)
class CheckReport:
    """What `Watches.check` did."""

    looked_at: int  # new or changed articles since the last check
    matches: tuple[Match, ...]
    backlog: bool  # the first check: the index's articles were taken as already seen


class Watches:
    """Watches over one store, matched with one analyzer (the index's)."""

    def __init__(
        self,
        store: WatchStore,
        analyzer: Analyzer | None = None,
        *,
        threshold: float = THRESHOLD,
        hourly_cap: int = HOURLY_CAP,
        visible: Visibility = visible,
        target_words: int = TARGET_WORDS,
    ) -> None:
        self.store = store
        self.analyzer = analyzer or default_analyzer()
        self.threshold = threshold
        self.hourly_cap = hourly_cap
        self.visible = visible
        self.target_words = target_words

    @classmethod
    def open(cls, settings: Settings, analyzer: Analyzer | None = None) -> Watches:
        """The watches the settings point at (`open_watch_store`: SQLite or PostgreSQL)."""
        return cls(open_watch_store(settings), analyzer)

    def close(self) -> None:
        self.store.close()

    # -- managing watches ------------------------------------------------------------------

    def add(
        self,
        query: str,
        mode: Mode = Mode.INSTANT,
        *,
        source: str | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
        now: datetime | None = None,
    ) -> Watch:
        """A new watch; it sees only articles indexed from now on."""
        text = " ".join(query.split())
        if len(text) > MAX_QUERY_CHARS:
            raise BadWatch(f"A watch is at most {MAX_QUERY_CHARS} characters; name the topic in a few words.")
        if not self.analyzer.terms(text):
            raise BadWatch(
                "That watch has no searchable words (only very common ones like “the”); "
                "name the people, places or topics to watch for."
            )
        name = source.strip() if source and source.strip() else None
        return self.store.add(
            text,
            Mode(mode),
            now or utcnow(),
            source=name,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
        )

    def get(self, guild_id: int | None, watch_id: int) -> Watch:
        return self.store.get(guild_id, watch_id)

    def list_watches(self, guild_id: int | None = None, user_id: int | None = None) -> list[Watch]:
        return self.store.watches(guild_id, user_id)

    def remove(self, guild_id: int | None, watch_id: int) -> Watch:
        return self.store.remove(guild_id, watch_id)

    def mute(
        self, guild_id: int | None, watch_id: int, duration: timedelta | None, now: datetime | None = None
    ) -> Watch:
        """Hold the watch's matches for `duration` (None: until unmuted). Held matches still count
        as fired, so a story seen while muted does not post later."""
        until = aware(now or utcnow()) + (duration or FOREVER)
        return self.store.mute(guild_id, watch_id, until)

    def resume(self, guild_id: int | None, watch_id: int) -> Watch:
        """Unmute and unpause."""
        return self.store.resume(guild_id, watch_id)

    # -- matching --------------------------------------------------------------------------

    def match(
        self,
        new_articles: Iterable[Article | ArticleTerms],
        index: Index | Statistics,
        *,
        now: datetime | None = None,
        indexed_at: datetime | None = None,
        written_at: Mapping[str, datetime] | None = None,
    ) -> list[Match]:
        """Match new or updated articles (already in `index`, whose statistics are used) against
        every watch created before `indexed_at` (default `now`), store and return the matches.
        `written_at` (article id -> when its corpus file was last written) narrows that per
        article: a file written before a watch existed is that watch's backlog, whenever a check
        first sees it."""
        now = aware(now or utcnow())
        indexed_at = aware(indexed_at or now)
        stats: Statistics = IndexStatistics(index) if isinstance(index, Index) else index
        watches = {w.id: w for w in self.store.watches() if w.created_at <= indexed_at}
        queries = ((w.id, Query.of(self.analyzer.terms(w.query), stats)) for w in watches.values())
        watch_index = WatchIndex((i, q) for i, q in queries if q is not None)
        oldest = (now - MAX_AGE).date()
        found: list[Match] = []
        for item in new_articles:
            article = item.article if isinstance(item, ArticleTerms) else item
            if article.date is not None and article.date < oldest:
                continue
            if not watch_index.by_key:
                break
            terms = (
                item
                if isinstance(item, ArticleTerms)
                else ArticleTerms.analyse(item, self.analyzer, self.target_words)
            )
            candidates = watch_index.candidates(terms)
            if not candidates:
                continue
            story: tuple[str, tuple[int, ...]] | None = None  # worked out for the first match
            written = (written_at or {}).get(article.id)
            for watch_id in candidates:
                watch = watches[watch_id]
                if written is not None and written < watch.created_at:
                    continue
                if watch.source and (article.source or "").lower() != watch.source.lower():
                    continue
                if not self.visible(watch, article):
                    continue
                query = watch_index.queries[watch_id]
                strength, passage = query.strength(terms, stats)
                if strength < self.threshold:
                    continue
                if story is None:
                    text = article.text or "\n\n".join(terms.passages)
                    story = story_key(text), sketch(text)
                match = self.store.record(
                    watch,
                    article,
                    story[0],
                    strength,
                    terms.passages[passage],
                    query.terms,
                    self._delivery(watch, now),
                    now,
                    story[1],
                )
                if match is not None:
                    found.append(match)
        return found

    def _delivery(self, watch: Watch, now: datetime) -> Delivery:
        if watch.paused or watch.muted(now):
            return Delivery.HELD
        if watch.mode is Mode.DAILY:
            return Delivery.DIGEST
        if self.store.posted_since(watch.id, now - timedelta(hours=1)) >= self.hourly_cap:
            return Delivery.DIGEST
        return Delivery.NOW

    def check(self, index: Index, now: datetime | None = None) -> CheckReport:
        """Match the index's articles that are new or changed since the last check. The first
        check only records what is there: a backlog never fires. The articles count as indexed
        when the index was built."""
        now = now or utcnow()
        seen = self.store.seen()
        listed = list(index.articles)  # one pass over the article list; indexing it reads the file
        fresh = [i for i, a in enumerate(listed) if seen.get(a.id) != a.content_hash]
        articles = [listed[i] for i in fresh]
        if not seen:
            self.store.remember(((a.id, a.content_hash) for a in articles), now)
            return CheckReport(len(articles), (), backlog=True)
        # built_at is cut to the second: a watch added within the second the build ended counts.
        stamp = index.built_at.replace("Z", "+00:00")
        built = datetime.fromisoformat(stamp) + timedelta(seconds=1) if stamp else now
        terms = (ArticleTerms.from_index(index, i, self.analyzer) for i in fresh)
        written = {a.id: when for a in articles if (when := _written(index, a)) is not None}
        matches = self.match(terms, index, now=now, indexed_at=built, written_at=written)
        self.store.remember(((a.id, a.content_hash) for a in articles), now)
        return CheckReport(len(articles), tuple(matches), backlog=False)

    # -- delivering ------------------------------------------------------------------------

    def pending(self) -> list[Match]:
        """Instant matches not yet delivered (nor failed), oldest first."""
        return self.store.pending(Delivery.NOW)

    def mark_delivered(self, match_ids: Sequence[int], now: datetime | None = None) -> None:
        self.store.mark_delivered(match_ids, now or utcnow())

    def mark_failed(self, match_id: int, reason: str, now: datetime | None = None) -> Watch:
        """A delivery failed (e.g. the user closed their DMs): the watch pauses with the reason
        until `resume`. Returns the paused watch, so the caller can say so once."""
        match = self.store.get_match(match_id)
        self.store.mark_failed(match_id, reason)
        return self.store.pause(match.watch.id, reason, now or utcnow())

    def digests(self, limit: int = 25) -> list[Digest]:
        """The digest of every running watch with undelivered digest matches."""
        running = [w.id for w in self.store.watches() if not w.paused]
        return group(self.store.pending(Delivery.DIGEST, running), limit)


def _written(index: Index, article: Article) -> datetime | None:
    """When the article's corpus file was last written, as the index recorded it."""
    state = index.files.get(article.path or "")
    return datetime.fromtimestamp(state.mtime_ns / 1e9, UTC) if state is not None else None
