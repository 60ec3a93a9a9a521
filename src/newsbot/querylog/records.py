"""Records of the query log: what the bot writes, and what moderators read back."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

from newsbot.records import Answer


class Interface(StrEnum):
    """Where a question was asked."""

    SLASH = "slash"
    MENTION = "mention"
    CLI = "cli"


class Outcome(StrEnum):
    """How a question ended."""

    ANSWERED = "answered"
    NO_MATCH = "no_match"
    REFUSED = "refused"
    RATE_LIMITED = "rate_limited"
    ERROR = "error"


@dataclass(frozen=True)
class Shown:
    """One passage shown in an answer."""

    article_id: str
    passage_id: int
    title: str
    score: float
    second_passage_id: int | None = None  # the article's other passage quoted under it (`Hit.second`)


@dataclass(frozen=True)
class QueryRecord:
    """One question and how it was answered, as the bot or the CLI writes it."""

    question: str
    interface: str  # an `Interface` value
    outcome: str  # an `Outcome` value
    guild_id: int | None = None
    channel_id: int | None = None
    user_id: int | None = None
    user_name: str | None = None
    filters: Mapping[str, str] = field(default_factory=dict)
    shown: tuple[Shown, ...] = ()
    latency_ms: float = 0.0
    index_version: str | None = None
    error: str | None = None  # error id / short text for outcome "error"
    message_id: int | None = None  # the reply's message id, if a writer knows it
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        # A typo here would silently split the statistics, so fail where it is written.
        if self.interface not in frozenset(Interface):
            raise ValueError(f"unknown interface {self.interface!r}")
        if self.outcome not in frozenset(Outcome):
            raise ValueError(f"unknown outcome {self.outcome!r}")

    @classmethod
    def from_answer(
        cls,
        answer: Answer,
        *,
        interface: str,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
        user_name: str | None = None,
        message_id: int | None = None,
    ) -> QueryRecord:
        """The record of an answered (or unmatched) question."""
        f = answer.filters
        filters = {
            "source": f.source,
            "since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None,
        }
        return cls(
            question=answer.question,
            interface=interface,
            outcome=Outcome.ANSWERED if answer.matched else Outcome.NO_MATCH,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            user_name=user_name,
            filters={k: v for k, v in filters.items() if v is not None},
            shown=tuple(
                Shown(
                    h.citation.article_id,
                    h.passage_id,
                    h.citation.title,
                    h.score,
                    h.second.passage_id if h.second else None,
                )
                for h in answer.hits
            ),
            latency_ms=answer.took_ms,
            index_version=answer.index_version,
            message_id=message_id,
        )


@dataclass(frozen=True)
class Flag:
    """A moderator's note that a logged answer needs a look."""

    moderator_id: int
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class Votes:
    """Feedback totals of one answer."""

    up: int = 0
    down: int = 0


@dataclass(frozen=True)
class LoggedQuery:
    """A stored row: the record as written plus what happened to it since."""

    id: int
    record: QueryRecord
    votes: Votes = Votes()
    flags: tuple[Flag, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, flat, for `--json` and CSV."""
        r = self.record
        return {
            "id": self.id,
            "created_at": r.created_at.isoformat(),
            "guild_id": r.guild_id,
            "channel_id": r.channel_id,
            "user_id": r.user_id,
            "user_name": r.user_name,
            "interface": r.interface,
            "outcome": r.outcome,
            "question": r.question,
            "filters": dict(r.filters),
            "shown": [
                {
                    "article_id": s.article_id,
                    "passage_id": s.passage_id,
                    "title": s.title,
                    "score": s.score,
                    "second_passage_id": s.second_passage_id,
                }
                for s in r.shown
            ],
            "latency_ms": r.latency_ms,
            "index_version": r.index_version,
            "error": r.error,
            "message_id": r.message_id,
            "votes_up": self.votes.up,
            "votes_down": self.votes.down,
            "flags": [
                {"moderator_id": f.moderator_id, "reason": f.reason, "created_at": f.created_at.isoformat()}
                for f in self.flags
            ],
        }


CSV_FIELDS = (
    "id",
    "created_at",
    "guild_id",
    "channel_id",
    "user_id",
    "user_name",
    "interface",
    "outcome",
    "question",
    "filters",
    "shown",
    "latency_ms",
    "index_version",
    "error",
    "message_id",
    "votes_up",
    "votes_down",
    "flags",
)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_csv(out: TextIO, rows: Iterable[LoggedQuery], *, limit: int | None = None) -> int:
    """CSV of logged rows, header first; return the row count. With `limit` (characters), stop
    and raise `TooBig` as soon as more than that has been written: nothing more is read.

    Every cell is quoted and a text cell that a spreadsheet would run as a formula (starting
    with = + - @ tab or carriage return) gets a leading apostrophe, as OWASP advises.
    """
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, quoting=csv.QUOTE_ALL)
    writer.writeheader()
    n = 0
    for q in rows:
        writer.writerow(csv_row(q))
        n += 1
        if limit is not None and out.tell() > limit:
            raise TooBig(n)
    return n


class TooBig(Exception):
    """An export went over its size limit after `rows` rows."""

    def __init__(self, rows: int) -> None:
        super().__init__(f"over the limit after {rows} rows")
        self.rows = rows


def csv_row(q: LoggedQuery) -> dict[str, Any]:
    """One CSV row: nested values as JSON, empty cells for None; text cells neutralised."""
    row = q.to_dict()
    for key in ("filters", "shown", "flags"):
        row[key] = json.dumps(row[key], ensure_ascii=False, sort_keys=True)
    return {k: "" if row[k] is None else _cell(row[k]) for k in CSV_FIELDS}


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


@dataclass(frozen=True)
class QuestionGroup:
    """Questions that are the same once normalised, e.g. a recurring unanswered one."""

    key: str  # the normalised text
    count: int
    last_asked: datetime
    example: str  # the latest question as asked

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "count": self.count,
            "last_asked": self.last_asked.isoformat(),
            "example": self.example,
        }


def normalize_question(text: str) -> str:
    """Lowercase, drop punctuation, collapse whitespace: how similar questions are grouped."""
    return " ".join(re.sub(r"[^\w\s]+", "", text.lower()).split())


def group_questions(asked: Iterable[tuple[str, datetime]]) -> list[QuestionGroup]:
    """Group (question, asked at) pairs, newest first, by normalised text; most asked first."""
    groups: dict[str, QuestionGroup] = {}
    for question, at in asked:
        key = normalize_question(question)
        g = groups.get(key)
        groups[key] = (
            QuestionGroup(key, 1, at, question)
            if g is None
            else QuestionGroup(key, g.count + 1, g.last_asked, g.example)
        )
    return sorted(groups.values(), key=lambda g: (-g.count, -g.last_asked.timestamp()))


def percentile(sorted_values: Sequence[float], p: int) -> float | None:
    """Nearest-rank percentile of already sorted values; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, -(-p * len(sorted_values) // 100))
    return float(sorted_values[rank - 1])


@dataclass(frozen=True)
class LogStats:
    """How the bot did over a window; latencies count searches only (answered + no_match)."""

    since: datetime | None  # None: all time
    total: int
    answered: int
    no_match: int
    by_outcome: Mapping[str, int]
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    top_questions: tuple[QuestionGroup, ...]
    votes_up: int
    votes_down: int
    flagged: int  # rows with at least one flag

    @property
    def other(self) -> int:
        """Refused, rate limited and errors."""
        return self.total - self.answered - self.no_match

    @property
    def answered_rate(self) -> float:
        return self.answered / self.total if self.total else 0.0

    @property
    def no_match_rate(self) -> float:
        return self.no_match / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "total": self.total,
            "answered": self.answered,
            "no_match": self.no_match,
            "other": self.other,
            "answered_rate": self.answered_rate,
            "no_match_rate": self.no_match_rate,
            "by_outcome": dict(self.by_outcome),
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p95_ms": self.latency_p95_ms,
            "top_questions": [g.to_dict() for g in self.top_questions],
            "votes_up": self.votes_up,
            "votes_down": self.votes_down,
            "flagged": self.flagged,
        }
