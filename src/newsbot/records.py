"""Small frozen records shared by the core, the CLI and the Discord layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Article:
    """One news article as read from the corpus."""

    id: str
    title: str
    text: str
    source: str | None = None
    date: date | None = None
    url: str | None = None
    author: str | None = None
    path: str | None = None  # the corpus file it came from, relative to the corpus root
    content_hash: str = ""  # of everything shown: a changed hash means reindex this article
    text_hash: str = ""  # of the text alone, case and spacing ignored: finds duplicate texts


@dataclass(frozen=True)
class Skipped:
    """An input that was skipped or repaired, with a one-line reason."""

    where: str
    reason: str
    repaired: bool = False


@dataclass(frozen=True)
class Filters:
    """Optional restrictions on an answer: a date range and a source; and who asks.

    `guild`: the server asking. The operator's content is answerable everywhere, a server's own
    content (see `newsbot.corpus.scope`) only there; None (the CLI) sees the operator's only.
    """

    since: date | None = None
    until: date | None = None
    source: str | None = None
    guild: int | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.since, self.until, self.source))


@dataclass(frozen=True)
class Snippet:
    """Text with the character spans of the matched words."""

    text: str
    marks: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Citation:
    """Where a passage comes from."""

    article_id: str
    title: str
    source: str | None
    date: date | None
    url: str | None
    path: str | None


@dataclass(frozen=True)
class Quote:
    """Another passage of a shown article, quoted under it."""

    passage_id: int
    position: int  # passage number within its article, from 0
    snippet: Snippet


@dataclass(frozen=True)
class Hit:
    """One passage shown in an answer."""

    citation: Citation
    passage_id: int
    position: int  # passage number within its article, from 0
    score: float
    snippet: Snippet
    also: tuple[Citation, ...] = ()  # the same story (syndicated copies) in other articles
    second: Quote | None = None  # the article's other passage holding most of the question

    @property
    def quotes(self) -> tuple[Snippet, ...]:
        """The snippets to show, in the article's order."""
        if self.second is None:
            return (self.snippet,)
        pair = (self.snippet, self.second.snippet)
        return pair if self.position <= self.second.position else pair[::-1]


@dataclass(frozen=True)
class Answer:
    """What `ask` returns: platform-neutral, rendered by the CLI and the bot."""

    question: str
    hits: tuple[Hit, ...]
    best_sentence: Snippet | None
    matched: bool  # False: nothing matched well enough; hits then hold the closest
    index_version: str
    took_ms: float
    filters: Filters = field(default_factory=Filters)
    terms: tuple[str, ...] = ()  # the analysed query terms
    headline_hit: int | None = None  # which of `hits` the best sentence is quoted from
    period: str | None = None  # dates the question itself named: "news since 2022"
    matching: int | None = None  # articles holding the question's rarest term (filters aside)

    @property
    def closest_titles(self) -> tuple[str, ...]:
        return tuple(h.citation.title for h in self.hits)


@dataclass(frozen=True)
class BuildReport:
    """The summary of an index build."""

    articles: int
    passages: int
    added: int
    updated: int
    removed: int
    unchanged: int
    skipped: tuple[Skipped, ...]
    seconds: float
    version: str
    full_because: str = ""  # why every article was analysed again, when it was not asked for


@dataclass(frozen=True)
class IndexStats:
    """What is indexed."""

    articles: int
    passages: int
    sources: tuple[tuple[str, int], ...]  # (source, articles), most first
    first_date: date | None
    last_date: date | None
    version: str
    built_at: str  # ISO 8601 UTC
    size_bytes: int
    corpus: str
