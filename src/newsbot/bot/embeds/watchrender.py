"""Watches -> Discord: a post per match, the daily digest, `/watch list`, and the paused notice.

Pure functions over the core's records (no I/O), drawn with the answer embed's helpers: the quoted
sentence with the watch's words in **bold** (`marked`), the citation line, dates as timestamps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import discord

from newsbot.bot.embeds.render import citation, marked, safe_url, timestamp
from newsbot.bot.limits import CONTENT, DESCRIPTION, FIELD_VALUE, TITLE, escape, fit, fit_embed, lines_within
from newsbot.records import Citation, Snippet
from newsbot.watches import Digest, Match, Watch

WATCH = discord.Colour.teal()
QUOTE = 700  # characters of the quoted sentence in a post
DIGEST_QUOTE = 300  # and in a digest entry
MAX_QUERY = 120  # characters of a watch's query where it is named


def named(watch: Watch) -> str:
    """`#3 “sanctions on Russian banks”`, escaped."""
    return f"#{watch.id} “{escape(fit(' '.join(watch.query.split()), MAX_QUERY))}”"


def _cite(match: Match) -> Citation:
    a = match.article
    return Citation(article_id=a.id, title=a.title, source=a.source, date=a.date, url=a.url, path=a.path)


def _quote(match: Match, sentence: Snippet | None, limit: int) -> str:
    """The best sentence, words in bold; without one, the start of the matched passage."""
    if sentence is not None:
        return fit("> " + marked(sentence), limit)
    return fit("> " + escape(" ".join(match.passage.split())), limit)


def match_embed(match: Match, sentence: Snippet | None) -> discord.Embed:
    """One instant post: the article's title (a link), the quoted sentence, source and date, and
    the watch it came from."""
    a = match.article
    embed = discord.Embed(
        title=fit(escape(" ".join(a.title.split()) or "Untitled"), TITLE),
        url=safe_url(a.url),
        colour=WATCH,
        description=_quote(match, sentence, QUOTE),
    )
    if a.source:
        embed.add_field(name="Source", value=escape(fit(a.source, 80)))
    if a.date:
        embed.add_field(name="Date", value=timestamp(a.date))
    embed.set_footer(text=fit(f"Watch #{match.watch.id}: {' '.join(match.watch.query.split())}", 200))
    return fit_embed(embed)


def digest_embed(digest: Digest, sentences: Sequence[Snippet | None]) -> discord.Embed:
    """A watch's digest: each story cited with its quoted sentence, strongest first."""
    room = (DESCRIPTION - 100) // max(1, len(digest.matches))
    blocks = [
        fit(f"**{n}.** {citation(_cite(m))}\n{_quote(m, s, DIGEST_QUOTE)}", max(room, 80))
        for n, (m, s) in enumerate(zip(digest.matches, sentences, strict=True), 1)
    ]
    if digest.more:
        blocks.append(f"…and {digest.more:,} more.")
    found = len(digest.match_ids)
    embed = discord.Embed(
        title=fit(f"Digest of watch {named(digest.watch)}", TITLE),
        colour=WATCH,
        description="\n\n".join(blocks),
    )
    embed.set_footer(text=f"{found:,} new article{'s' if found != 1 else ''} since the last digest")
    return fit_embed(embed)


def state(watch: Watch, now: datetime) -> str:
    if watch.paused:
        return "paused: " + escape(fit(watch.paused, 120))
    if watch.muted(now) and watch.muted_until is not None:
        return f"muted until <t:{int(watch.muted_until.timestamp())}:f>"
    return "running"


def target(watch: Watch) -> str:
    """Where it posts: a channel, or someone's DMs (mentions in an embed ping nobody)."""
    if watch.channel_id is not None:
        return f"<#{watch.channel_id}>"
    return f"DMs of <@{watch.user_id}>" if watch.user_id is not None else "nowhere"


def watches_embed(watches: Sequence[Watch], now: datetime, everyone: bool) -> discord.Embed:
    """`/watch list`: the server's watches (`everyone`, for moderators) or the member's own."""
    lines = [
        f"**{named(w)}** · {w.mode} · {target(w)}"
        + (f" · source {escape(fit(w.source, 60))}" if w.source else "")
        + f" · {state(w, now)}"
        for w in watches
    ]
    whose = "This server's watches" if everyone else "Your watches"
    embed = discord.Embed(
        title=whose,
        colour=WATCH,
        description=lines_within(lines, DESCRIPTION) if lines else "No watches yet: add one with /watch add.",
    )
    embed.set_footer(text="/watch mute, /watch resume and /watch remove take the number after #")
    return fit_embed(embed)


def paused_text(watch: Watch) -> str:
    """Said once in the server when a delivery failed and the watch paused (pings nobody: the
    post is sent with no allowed mentions)."""
    who = f" for <@{watch.user_id}>" if watch.user_id is not None else ""
    reason = escape(fit(watch.paused or "the post was refused", 200))
    return fit(
        f"Watch {named(watch)}{who} is paused: {reason}. Fix that, then run `/watch resume {watch.id}`.",
        CONTENT,
    )


def added_text(watch: Watch) -> str:
    where = f"in {target(watch)}" if watch.channel_id is not None else "to you by DM"
    mode = "one post per new article" if watch.mode == "instant" else "one digest a day"
    source = f", from {escape(fit(watch.source, 60))} only" if watch.source else ""
    return fit(
        f"Watch {named(watch)} added: {mode} {where}{source}. It sees articles indexed from now on.",
        FIELD_VALUE,
    )
