"""Core records -> Discord embeds. Pure functions: no I/O, so they are tested directly."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, date, datetime
from urllib.parse import quote, urlsplit

import discord

from newsbot.bot.limits import (
    DESCRIPTION,
    FIELD_VALUE,
    TITLE,
    code,
    escape,
    fit,
    fit_embed,
    lines_within,
)
from newsbot.records import Answer, BuildReport, Citation, Filters, Hit, IndexStats, Snippet

ANSWERED = discord.Colour.blurple()
NO_MATCH = discord.Colour.orange()
REPORT = discord.Colour.green()
BEST_SENTENCE = 1000  # characters kept for the best sentence at the top
MAX_URL = 500
MAX_ALSO = 3  # syndicated copies named under a passage


def marked(snippet: Snippet) -> str:
    """Escape the snippet's text and put its matched words in **bold**."""
    text, out, pos = snippet.text, [], 0
    for start, end in _spans(snippet):
        out += [escape(text[pos:start]), f"**{escape(text[start:end])}**"]
        pos = end
    out.append(escape(text[pos:]))
    return " ".join("".join(out).split())


def _spans(snippet: Snippet) -> list[tuple[int, int]]:
    """The mark spans, clamped, trimmed of spaces, sorted, with overlapping ones merged."""
    text = snippet.text
    merged: list[tuple[int, int]] = []
    for start, end in sorted(snippet.marks):
        start, end = max(0, start), min(len(text), end)
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def timestamp(day: date) -> str:
    """Discord date markup shown in each reader's locale; noon UTC keeps the same day nearly everywhere."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return f"<t:{int(noon.timestamp())}:D>"


def safe_url(url: str | None) -> str | None:
    """An http(s) URL fit for a masked link, or None."""
    if not url or len(url) > MAX_URL:
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe=":/?#@!$&'*+,;=%~-._[]")


def citation(cite: Citation) -> str:
    """Title (a masked link when there is a URL), source and date, one line."""
    title = escape(fit(" ".join(cite.title.split()) or "Untitled", 200))
    url = safe_url(cite.url)
    parts = [f"[{title}]({url})" if url else f"*{title}*"]
    if cite.source:
        parts.append(escape(fit(cite.source, 80)))
    if cite.date:
        parts.append(timestamp(cite.date))
    return " · ".join(parts)


def answer_embed(answer: Answer) -> discord.Embed:
    """The reply to a question: the best sentence first, then each quoted passage, cited."""
    if not answer.matched or not answer.hits:
        return no_match_embed(answer)
    best = answer.best_sentence  # None when no sentence answers: the passages alone, not repeated
    head = [fit("> " + marked(best), BEST_SENTENCE)] if best else []
    blocks = [
        _passage_block(n, hit, best if best and n - 1 == answer.headline_hit else None)
        for n, hit in enumerate(answer.hits, 1)
    ]
    rooms = shares(
        [len(p) + len(c) + 1 for p, c in blocks], DESCRIPTION - sum(map(len, head)) - 2 * len(blocks)
    )
    body = [
        fit(passage, max(room - len(cite) - 1, 40)) + "\n" + cite
        for (passage, cite), room in zip(blocks, rooms, strict=True)
    ]
    embed = discord.Embed(
        title=fit(escape(answer.question.strip()), TITLE),
        colour=ANSWERED,
        description="\n\n".join([*head, *body]),
    )
    embed.set_footer(text=_footer(answer))
    return fit_embed(embed)


def more_embed(answer: Answer, start: int) -> discord.Embed:
    """The results after the first `start` of an answer, numbered on from them."""
    rest = answer.hits[start:] if answer.matched else ()
    if not rest:
        description = "That was everything that matches well; try other words or a wider date range."
        embed = discord.Embed(title=fit("More: " + escape(answer.question.strip()), TITLE), colour=NO_MATCH)
        embed.description = description
        return fit_embed(embed)
    blocks = [_passage_block(n, hit) for n, hit in enumerate(rest, start + 1)]
    room = (DESCRIPTION - 2 * len(blocks)) // len(blocks)
    body = [fit(passage, max(room - len(cite) - 1, 40)) + "\n" + cite for passage, cite in blocks]
    embed = discord.Embed(
        title=fit("More: " + escape(answer.question.strip()), TITLE),
        colour=ANSWERED,
        description="\n\n".join(body),
    )
    embed.set_footer(text=_footer(dataclasses.replace(answer, hits=rest)))
    return fit_embed(embed)


def shares(sizes: list[int], total: int) -> list[int]:
    """Room for blocks of these sizes within `total` characters: a block that fits its equal
    share keeps its size, and what it leaves goes to the longer ones (a passage quoted with a
    second one of its article is cut only when the whole answer would not fit)."""
    rooms = [0] * len(sizes)
    left, open_ = total, sorted(range(len(sizes)), key=lambda i: sizes[i])
    while open_:
        share = left // len(open_)
        i = open_.pop(0)
        rooms[i] = min(sizes[i], share) if open_ else left
        left -= rooms[i]
    return rooms


def _passage_block(n: int, hit: Hit, headline: Snippet | None = None) -> tuple[str, str]:
    """The passage's snippet (without the headline when quoted from it) and its citation, with
    the other papers that ran the same story."""
    text = "\n".join(
        marked(without(q, headline.text)) if headline and q is hit.snippet else marked(q) for q in hit.quotes
    )
    cite = "— " + citation(hit.citation)
    if hit.also:
        cite += " · also reported by " + ", ".join(_reporter(c) for c in hit.also[:MAX_ALSO])
        cite += f" and {len(hit.also) - MAX_ALSO:,} more" if len(hit.also) > MAX_ALSO else ""
    return f"**{n}.** {text}", cite


def _reporter(cite: Citation) -> str:
    """A syndicated copy, as short as it can be: its source (a link when there is a URL)."""
    name = escape(fit(cite.source or " ".join(cite.title.split()) or "another paper", 60))
    url = safe_url(cite.url)
    return f"[{name}]({url})" if url else name


def without(snippet: Snippet, sentence: str) -> Snippet:
    """The snippet with `sentence` (the headline above it) replaced by "(…)"; its marks moved."""
    at = snippet.text.find(sentence) if sentence else -1
    if at < 0:
        return snippet
    gap = "(…)"
    end = at + len(sentence)
    shift = len(gap) - len(sentence)
    marks = tuple(
        (s if s < at else s + shift, e if e <= at else e + shift)
        for s, e in snippet.marks
        if e <= at or s >= end
    )
    return Snippet(snippet.text[:at] + gap + snippet.text[end:], marks)


def no_match_embed(answer: Answer) -> discord.Embed:
    """An honest "not found", listing the closest articles so the reader can judge."""
    lines = [
        "I found nothing in the indexed news that answers this"
        + (f" ({escape(describe_filters(answer.filters))})." if answer.filters.active else ".")
    ]
    if answer.hits:
        lines += ["", "Closest articles:"]
        lines += [fit("• " + citation(hit.citation), FIELD_VALUE) for hit in _unique(answer.hits)]
    else:
        lines.append("Nothing came close; try other words or a wider date range.")
    embed = discord.Embed(
        title=fit(escape(answer.question.strip()), TITLE), colour=NO_MATCH, description="\n".join(lines)
    )
    embed.set_footer(text=_footer(answer))
    return fit_embed(embed)


def _unique(hits: Iterable[Hit]) -> list[Hit]:
    """One line per article: several passages of one article are one suggestion."""
    seen: dict[str, Hit] = {}
    for hit in hits:
        seen.setdefault(hit.citation.article_id, hit)
    return list(seen.values())


def describe_filters(filters: Filters) -> str:
    """'since 2024-01-01, source BBC' (plain text)."""
    parts = []
    if filters.since:
        parts.append(f"since {filters.since.isoformat()}")
    if filters.until:
        parts.append(f"until {filters.until.isoformat()}")
    if filters.source:
        parts.append(f"source {filters.source}")
    return ", ".join(parts)


def _footer(answer: Answer) -> str:
    """What helps a reader judge the answer: how much matched, which news was searched. (The index
    version and timings are in /logs.)"""
    parts = []
    if answer.matched and answer.hits:
        shown = len(answer.hits) + sum(len(h.also) for h in answer.hits)
        total = max(answer.matching or 0, shown)
        parts.append(f"{len(answer.hits)} of {total:,} matching articles · best match first")
    if answer.period:
        parts.append(answer.period)
    if answer.filters.active:
        parts.append(describe_filters(answer.filters))
    return " · ".join(parts) or "newsbot quotes the news; nothing is made up"


def progress_text(stage: str, done: int, total: int) -> str:
    """One line for the reindex progress reply, with a small bar when the total is known."""
    if total <= 0:
        return f"Reindexing… {escape(stage)}"
    filled = min(10, 10 * done // total)
    return f"Reindexing… {escape(stage)} `{'█' * filled}{'░' * (10 - filled)}` {done}/{total}"


def report_embed(report: BuildReport, *, title: str = "Reindex finished") -> discord.Embed:
    """What a build changed, what it skipped and why, and the new index version."""
    embed = discord.Embed(title=title, colour=REPORT)
    for name, value in (
        ("Added", report.added),
        ("Updated", report.updated),
        ("Removed", report.removed),
        ("Unchanged", report.unchanged),
        ("Articles", report.articles),
        ("Passages", report.passages),
    ):
        embed.add_field(name=name, value=f"{value:,}")
    embed.add_field(name="Took", value=f"{report.seconds:.1f} s")
    embed.add_field(name="Version", value=code(report.version))
    if report.skipped:
        lines = [
            f"• {escape(s.where)}: {escape(s.reason)}" + (" (repaired)" if s.repaired else "")
            for s in report.skipped
        ]
        embed.add_field(
            name=f"Skipped or repaired ({len(report.skipped)})",
            value=lines_within(lines, FIELD_VALUE),
            inline=False,
        )
    return fit_embed(embed)


def stats_embed(stats: IndexStats) -> discord.Embed:
    """What the index holds."""
    embed = discord.Embed(title="Corpus", colour=REPORT, description=code(fit(stats.corpus, 200)))
    embed.add_field(name="Articles", value=f"{stats.articles:,}")
    embed.add_field(name="Passages", value=f"{stats.passages:,}")
    embed.add_field(name="Size", value=_size(stats.size_bytes))
    if stats.first_date and stats.last_date:
        embed.add_field(
            name="Dates", value=f"{timestamp(stats.first_date)} – {timestamp(stats.last_date)}", inline=False
        )
    if stats.sources:
        lines = [f"• {escape(name)}: {count:,}" for name, count in stats.sources]
        embed.add_field(
            name=f"Sources ({len(stats.sources)})", value=lines_within(lines, FIELD_VALUE), inline=False
        )
    embed.add_field(name="Version", value=code(stats.version))
    embed.add_field(name="Built", value=_iso_timestamp(stats.built_at))
    return fit_embed(embed)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def _iso_timestamp(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return escape(text) or "unknown"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"<t:{int(moment.timestamp())}:f>"
