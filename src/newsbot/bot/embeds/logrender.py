"""Query-log rows -> Discord embeds for moderators. Pure functions: no I/O, tested directly.

Everything a user wrote (questions, names, flag reasons, error text) goes through `text()`:
control and bidi characters dropped, whitespace collapsed to one line, markdown and mass
mentions escaped by `fit.escape`, then cut by `fit.fit`. Nobody is ever mentioned: people
are shown as "name (id)", channels as channel links (which never notify anyone).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import discord

from newsbot.bot.limits import (
    DESCRIPTION,
    FIELD_VALUE,
    TITLE,
    escape,
    fit,
    fit_embed,
    lines_within,
)
from newsbot.querylog import LoggedQuery, LogStats, Outcome, QueryRecord, QuestionGroup, Votes
from newsbot.querylog.buffer import Unwritten

LIST = discord.Colour.blurple()
REVIEW = discord.Colour.orange()
QUESTION_IN_FULL = 3000  # characters of a question shown by /logs show
ICONS: dict[str, str] = {
    Outcome.ANSWERED: "✅",
    Outcome.NO_MATCH: "❔",
    Outcome.REFUSED: "⛔",
    Outcome.RATE_LIMITED: "⏳",
    Outcome.ERROR: "⚠️",
}
# C0 / C1 controls, zero-width and bidi controls that could hide or reorder text.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def text(value: str | None, limit: int) -> str:
    """User-written text as one safe line of at most `limit` characters."""
    if not value:
        return ""
    one_line = " ".join(_CONTROLS.sub(" ", value).split())
    return fit(escape(one_line), limit)


def when(moment: datetime, style: str = "f") -> str:
    """Discord timestamp markup, shown in each reader's time zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"<t:{int(moment.timestamp())}:{style}>"


def outcome(value: str) -> str:
    """'❔ no match'."""
    icon = ICONS.get(value, "")  # StrEnum keys match their str values
    return f"{icon} {value.replace('_', ' ')}".strip()


def who(r: QueryRecord) -> str:
    """'alice (42)', as plain text."""
    if r.user_id is None:
        return "unknown"
    return f"{text(r.user_name, 40)} ({r.user_id})" if r.user_name else str(r.user_id)


def where(r: QueryRecord) -> str:
    """The channel as a link (never a ping), and how the question was asked."""
    place = f"<#{r.channel_id}>" if r.channel_id else "no channel"
    return f"{place} · {text(r.interface, 20)}"


def votes(v: Votes) -> str:
    return f"👍 {v.up} · 👎 {v.down}"


def shown_lines(r: QueryRecord) -> list[str]:
    """One line per passage shown: rank, score, title, article and passage (corpus text is
    escaped, never put in a code span, where escapes would show)."""
    return [
        f"{n}. `{s.score:.2f}` {text(s.title, 120) or '*untitled*'} · "
        f"{text(s.article_id, 60)} #{s.passage_id}"
        for n, s in enumerate(r.shown, 1)
    ]


# -- /logs recent ---------------------------------------------------------------------------


def recent_embed(rows: Sequence[LoggedQuery], *, page: int, per_page: int, filters: str) -> discord.Embed:
    """One page of the latest questions, newest first, two lines each."""
    if not rows:
        body = "No questions match." if page == 0 else "No more questions."
    else:
        room = (DESCRIPTION - 100) // len(rows)
        body = "\n".join(_recent_row(q, room) for q in rows)
    first = page * per_page + 1
    embed = discord.Embed(title="Recent questions", colour=LIST, description=body)
    footer = [f"Page {page + 1}"]
    if rows:
        footer.append(f"rows {first}–{first + len(rows) - 1}")
    if filters:
        footer.append(filters)
    embed.set_footer(text=" · ".join(footer))
    return fit_embed(embed)


def _recent_row(q: LoggedQuery, room: int) -> str:
    r = q.record
    head = f"`#{q.id}` {when(r.created_at, 'R')} · {outcome(r.outcome)} · {who(r)}"
    if r.channel_id:
        head += f" · <#{r.channel_id}>"
    top = f" → {text(r.shown[0].title, 60)}" if r.shown else ""
    question = text(r.question, max(20, room - len(head) - len(top) - 4))
    return f"{head}\n> {question}{top}"


# -- /logs show -----------------------------------------------------------------------------


def query_embed(q: LoggedQuery) -> discord.Embed:
    """One question in full: who, where, outcome, what was shown, votes and flags."""
    r = q.record
    embed = discord.Embed(
        title=f"Question #{q.id}", colour=LIST, description=text(r.question, QUESTION_IN_FULL) or "*(empty)*"
    )
    embed.add_field(name="Asked", value=when(r.created_at))
    embed.add_field(name="By", value=who(r))
    embed.add_field(name="Where", value=where(r))
    embed.add_field(name="Outcome", value=outcome(r.outcome))
    embed.add_field(name="Latency", value=f"{r.latency_ms:.1f} ms")
    embed.add_field(name="Index", value=text(r.index_version, 80) or "unknown")
    embed.add_field(name="Votes", value=votes(q.votes))
    if r.filters:
        embed.add_field(
            name="Filters", value=text(", ".join(f"{k}={v}" for k, v in sorted(r.filters.items())), 500)
        )
    if r.error:
        embed.add_field(name="Error", value=text(r.error, 500), inline=False)
    embed.add_field(
        name=f"Shown ({len(r.shown)})",
        value=lines_within(shown_lines(r), FIELD_VALUE) if r.shown else "nothing",
        inline=False,
    )
    if q.flags:
        lines = [
            f"{when(f.created_at, 'd')} · moderator {f.moderator_id}: {text(f.reason, 300)}" for f in q.flags
        ]
        embed.add_field(name=f"Flags ({len(q.flags)})", value=lines_within(lines, FIELD_VALUE), inline=False)
    return fit_embed(embed)


# -- /logs unanswered and /logs stats -------------------------------------------------------


def _group_line(g: QuestionGroup, width: int) -> str:
    return f"**{g.count}×** {text(g.example, width)} · {when(g.last_asked, 'R')}"


def unanswered_embed(groups: Sequence[QuestionGroup], days: int) -> discord.Embed:
    """No-match questions grouped, most asked first: what the corpus lacks."""
    body = (
        lines_within([_group_line(g, 150) for g in groups], DESCRIPTION)
        if groups
        else "Every question found a match."
    )
    embed = discord.Embed(title=f"Unanswered questions · last {days} days", colour=REVIEW, description=body)
    embed.set_footer(text=f"{sum(g.count for g in groups)} questions in {len(groups)} groups")
    return fit_embed(embed)


def window(days: int | None) -> str:
    return "all time" if days is None else f"last {days} days"


def log_stats_embed(s: LogStats, days: int | None, unwritten: Unwritten | None = None) -> discord.Embed:
    """Volume, answer rate, latency and feedback over a window; and questions this process could
    not log (waiting to be retried, or dropped), when there are any."""

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} ms"

    embed = discord.Embed(title=f"Query log · {window(days)}", colour=LIST)
    embed.add_field(name="Questions", value=f"{s.total:,}")
    embed.add_field(name="Answered", value=f"{s.answered:,} ({s.answered_rate:.0%})")
    embed.add_field(name="No match", value=f"{s.no_match:,} ({s.no_match_rate:.0%})")
    others = [
        f"{outcome(k)}: {n:,}"
        for k, n in sorted(s.by_outcome.items())
        if k not in (Outcome.ANSWERED, Outcome.NO_MATCH)
    ]
    embed.add_field(name="Other", value=" · ".join(others) or "none")
    embed.add_field(name="Latency", value=f"p50 {ms(s.latency_p50_ms)} · p95 {ms(s.latency_p95_ms)}")
    embed.add_field(name="Feedback", value=f"👍 {s.votes_up:,} · 👎 {s.votes_down:,} · {s.flagged:,} flagged")
    if unwritten is not None and (unwritten.waiting or unwritten.dropped):
        embed.add_field(
            name="Not logged",
            value=f"{unwritten.dropped:,} dropped · {unwritten.waiting:,} waiting to be written",
        )
    if s.top_questions:
        embed.add_field(
            name="Top questions",
            inline=False,
            value=lines_within([_group_line(g, 100) for g in s.top_questions], FIELD_VALUE),
        )
    return fit_embed(embed)


# -- the mod review channel -----------------------------------------------------------------


def review_embed(q: LoggedQuery, reason: str) -> discord.Embed:
    """A question for moderators to look at: the question, who and where (plain text),
    the outcome, the titles shown and the row id."""
    r = q.record
    embed = discord.Embed(
        title=fit(f"Review: {reason}", TITLE),
        colour=REVIEW,
        description=text(r.question, 1500) or "*(empty)*",
    )
    embed.add_field(name="Asked by", value=who(r))
    embed.add_field(name="Where", value=where(r))
    embed.add_field(name="Outcome", value=outcome(r.outcome))
    embed.add_field(name="Asked", value=when(r.created_at))
    embed.add_field(name="Votes", value=votes(q.votes))
    titles = [f"{n}. {text(s.title, 150) or '*untitled*'}" for n, s in enumerate(r.shown, 1)]
    embed.add_field(
        name="Shown", value=lines_within(titles, FIELD_VALUE) if titles else "nothing", inline=False
    )
    embed.set_footer(text=f"Row #{q.id} · /logs show id:{q.id}")
    return fit_embed(embed)
