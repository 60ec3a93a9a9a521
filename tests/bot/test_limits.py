"""fit.escape / fit.fit / fit.fit_embed: Discord's limits, never a broken word or span."""

from __future__ import annotations

import re

import discord
import pytest

from newsbot.bot.limits import (
    CONTENT,
    DESCRIPTION,
    EMBED_TOTAL,
    FIELD_NAME,
    FIELD_VALUE,
    FIELDS,
    TITLE,
    code,
    escape,
    fit,
    fit_embed,
    lines_within,
)

BOLD = re.compile(r"\*\*")


def balanced(text: str) -> bool:
    """Every unescaped ** is paired, every [ of a link is closed."""
    unescaped = re.sub(r"\\.", "", text)
    return len(BOLD.findall(unescaped)) % 2 == 0 and unescaped.count("[") == unescaped.count("]")


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("**bold**", r"\*\*bold\*\*"),
        ("_under_ ~~strike~~ ||spoiler|| `code`", r"\_under\_ \~\~strike\~\~ \|\|spoiler\|\| \`code\`"),
        ("[click](https://evil.example)", r"\[click\](https://evil.example)"),
        ("# Heading", r"\# Heading"),
        ("-# small", r"\-# small"),
        ("> quote", r"\> quote"),
        ("1. first", r"1\. first"),
        ("<@123456789012345678> <@&1> <#2> <t:1:D>", r"\<@123456789012345678\> \<@&1\> \<#2\> \<t:1:D\>"),
        ("back\\slash", "back\\\\slash"),
    ],
)
def test_escape_makes_markdown_literal(raw: str, shown: str) -> None:
    assert escape(raw) == shown


def test_escape_defuses_mass_mentions_and_keeps_urls() -> None:
    text = escape("@everyone and @here see https://example.org/a_b*c")
    assert "@everyone" not in text and "@here" not in text
    assert "@\u200beveryone" in text
    assert "https://example.org/a_b*c" in text


def test_escape_handles_every_line_start() -> None:
    assert escape("one\n# two\n  - three") == "one\n\\# two\n  \\- three"


def test_fit_leaves_short_text_alone() -> None:
    assert fit("short", 10) == "short"
    assert fit("", 10) == ""


def test_fit_cuts_between_words_with_an_ellipsis() -> None:
    text = "the quick brown fox jumps over the lazy dog"
    for limit in range(len("the…"), len(text)):
        out = fit(text, limit)
        assert len(out) <= limit
        assert out.endswith("…")
        words = out[:-1].split()
        assert all(w in text.split() for w in words), out


def test_fit_never_splits_bold_or_links() -> None:
    text = (
        "Chechen leader **Ramzan Kadyrov** was banned under fresh **sanctions**, see "
        "[the report](https://example.org/report) and <t:1700000000:D> for \\*details\\*."
    )
    for limit in range(5, len(text) + 1):
        out = fit(text, limit)
        assert len(out) <= limit
        assert balanced(out), (limit, out)
        assert "<t:" not in out or "<t:1700000000:D>" in out
        assert not re.search(r"(?<!\\)\\…$", out)


def test_fit_falls_back_to_a_hard_cut_for_one_huge_word() -> None:
    out = fit("x" * 5000, 100)
    assert out == "x" * 99 + "…"


def test_fit_tiny_limits() -> None:
    assert fit("hello world", 1) == "…"
    assert fit("hello world", 0) == ""


def test_fit_embed_respects_every_limit() -> None:
    embed = discord.Embed(title="t" * 1000, description="word " * 2000)
    for _ in range(40):
        embed.add_field(name="n" * 500, value="v " * 1000)
    embed.set_footer(text="f" * 5000)
    fit_embed(embed)
    assert len(embed.title or "") <= TITLE
    assert len(embed.description or "") <= DESCRIPTION
    assert len(embed.fields) <= FIELDS
    assert all(len(f.name or "") <= FIELD_NAME and len(f.value or "") <= FIELD_VALUE for f in embed.fields)
    assert len(embed) <= EMBED_TOTAL


def test_fit_embed_keeps_a_small_embed_unchanged() -> None:
    embed = discord.Embed(title="Title", description="Some text")
    embed.add_field(name="a", value="b")
    before = embed.to_dict()
    assert fit_embed(embed).to_dict() == before


def test_content_limit_constant() -> None:
    assert CONTENT == 2000


def test_code_spans_show_text_as_typed() -> None:
    assert code("/srv/news_corpus/*.jsonl") == "`/srv/news_corpus/*.jsonl`"  # no escapes inside
    assert code("a`b\nc") == "`aʼb c`" and code("") == "` `"


def test_lines_within_keeps_whole_lines_and_counts_the_rest() -> None:
    lines = [f"line {n} " + "x" * 40 for n in range(100)]
    out = lines_within(lines, 300)
    kept = out.splitlines()
    assert len(out) <= 300 and kept[-1].startswith("…and ") and kept[-1].endswith(" more")
    assert kept[:-1] == lines[: len(kept) - 1]
    assert int(kept[-1].split()[1]) == 100 - (len(kept) - 1)
    assert lines_within(["short"], 300) == "short" and lines_within([], 300) == "\u200b"
    huge = lines_within(["y " * 2000, "after"], 1024)
    assert len(huge) <= 1024 and huge.endswith("\nafter")  # one long line hides no other
