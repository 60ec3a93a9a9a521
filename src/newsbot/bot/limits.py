"""Fitting text to Discord's limits, and escaping corpus text so it renders as typed.

Discord rejects a whole message when one part is too long, so everything the bot sends
passes through here. Cuts fall between words and never inside a markdown span (a bold
run, a masked link, a timestamp, a backslash escape), so a shortened answer still renders.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import discord

CONTENT = 2000
TITLE = 256
DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR = 256
FIELDS = 25
EMBED_TOTAL = 6000
ELLIPSIS = "…"

_URL = r"https?://[^\s<>]+"
_ESCAPE = re.compile(rf"(?P<url>{_URL})|(?P<md>[\\*_~|`\[\]<>])")
_BLOCK_MARK = re.compile(r"^(\s*)([#+-])", re.MULTILINE)
_LIST_NUMBER = re.compile(r"^(\s*\d+)(\.\s)", re.MULTILINE)
_MASS_MENTION = re.compile(r"@(everyone|here)")
# Never sent: controls, and invisible characters that reorder or hide text (bidi overrides and
# isolates, zero-width characters, soft hyphens), whether from the corpus or a question.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
# Spans a cut must not split: bold runs, masked links, Discord <…> markup, escapes. A link's
# text may not hold "[" and both parts are bounded, so text full of "[" is scanned in linear time.
_ATOMS = re.compile(
    r"\*\*(?:\\.|[^\\*])+?\*\*"
    r"|\[(?:\\.|[^\\\[\]]){0,512}\]\([^)\s]{0,2048}\)"
    r"|<[^<>\s]+>"
    r"|\\.",
    re.DOTALL,
)


def escape(text: str) -> str:
    """Make `text` render literally: no formatting, links, quotes, headers or pings."""

    def one(match: re.Match[str]) -> str:
        return match.group("url") or "\\" + match.group("md")

    text = visible(text)
    text = _ESCAPE.sub(one, text)
    text = _BLOCK_MARK.sub(r"\1\\\2", text)
    text = _LIST_NUMBER.sub(r"\1\\\2", text)
    return _MASS_MENTION.sub("@\u200b\\1", text)


def visible(text: str) -> str:
    """`text` without controls and invisible characters (bidi overrides, zero-width ones)."""
    return _INVISIBLE.sub("", text)


def fit(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """Shorten `text` to at most `limit` characters, ending in `ellipsis` when cut.

    Prefers the last word boundary outside any markdown span; falls back to the last
    position outside a span, then to a plain cut when one span is longer than the limit.
    """
    if len(text) <= limit:
        return text
    budget = limit - len(ellipsis)
    if budget <= 0:
        return ellipsis[:limit]
    inside = _inside_spans(text, budget)
    outside = [p for p in range(budget, 0, -1) if not inside[p]]
    cut = next(
        (p for p in outside if text[p].isspace() or text[p - 1].isspace()), outside[0] if outside else budget
    )
    return text[:cut].rstrip() + ellipsis


def _inside_spans(text: str, budget: int) -> list[bool]:
    """inside[p] is True when cutting before index p would split a span."""
    inside = [False] * (budget + 1)
    for match in _ATOMS.finditer(text):
        start, end = match.span()
        if start >= budget:
            break
        for p in range(start + 1, min(end, budget + 1)):
            inside[p] = True
    return inside


def code(text: str) -> str:
    """`text` as an inline code span. Escapes do not work inside one, so backticks (the only
    character that could end it early) become look-alike quotes and nothing else changes."""
    return "`" + (" ".join(visible(text).split()).replace("`", "ʼ") or " ") + "`"


def lines_within(lines: Sequence[str], limit: int) -> str:
    """As many whole lines as fit in `limit` characters, then how many were left out.

    A line longer than half the limit is shortened by `fit`, so one huge line cannot hide
    all the others.
    """
    kept: list[str] = []
    size = len("…and 000000 more")
    for line in lines:
        line = fit(line, limit // 2)
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    rest = len(lines) - len(kept)
    return "\n".join(kept + ([f"…and {rest:,} more"] if rest else [])) or "\u200b"


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Bring every part of `embed` within its own limit and the 6000-character total."""
    if embed.title:
        embed.title = fit(embed.title, TITLE)
    if embed.description:
        embed.description = fit(embed.description, DESCRIPTION)
    if embed.footer.text:
        embed.set_footer(text=fit(embed.footer.text, FOOTER), icon_url=embed.footer.icon_url)
    if embed.author.name:
        embed.set_author(
            name=fit(embed.author.name, AUTHOR), url=embed.author.url, icon_url=embed.author.icon_url
        )
    fields = [
        (fit(f.name or "\u200b", FIELD_NAME), fit(f.value or "\u200b", FIELD_VALUE), f.inline)
        for f in embed.fields[:FIELDS]
    ]
    embed.clear_fields()
    for name, value, inline in fields:
        embed.add_field(name=name, value=value, inline=inline)
    while len(embed) > EMBED_TOTAL and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if len(embed) > EMBED_TOTAL and embed.description:
        embed.description = fit(
            embed.description, max(1, len(embed.description) - (len(embed) - EMBED_TOTAL))
        )
    return embed
