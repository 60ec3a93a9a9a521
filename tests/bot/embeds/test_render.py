"""render: answers, no-match, reports and stats as embeds that fit and render as intended."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime

from newsbot.bot.embeds.render import (
    answer_embed,
    citation,
    marked,
    more_embed,
    progress_text,
    report_embed,
    safe_url,
    shares,
    stats_embed,
    timestamp,
)
from newsbot.bot.limits import DESCRIPTION, EMBED_TOTAL, TITLE
from newsbot.records import BuildReport, Citation, Filters, IndexStats, Quote, Skipped, Snippet
from tests.bot.support import answer, hit, snippet

PASSAGE = (
    "The harbour city of Lindqvist opened a floating solar farm on Monday. "
    "Mayor Anja Berg said the panels would power 4,000 homes."
)


def test_marked_escapes_then_bolds_the_matched_words() -> None:
    s = snippet("a *star* and solar farm_1 <@123>", "solar", "farm")
    assert marked(s) == r"a \*star\* and **solar** **farm**\_1 \<@123\>"


def test_marked_merges_overlaps_trims_spaces_and_clamps() -> None:
    s = Snippet("solar farm opened", ((0, 5), (3, 10), (10, 11), (50, 60), (-5, 0)))
    assert marked(s) == "**solar farm** opened"


def test_marked_bold_of_text_with_markdown_stays_escaped() -> None:
    s = Snippet("x **y** z", ((2, 7),))
    assert marked(s) == r"x **\*\*y\*\*** z"


def test_timestamp_is_discord_date_markup_at_noon_utc() -> None:
    noon = int(datetime(2024, 3, 4, 12, tzinfo=UTC).timestamp())
    assert timestamp(date(2024, 3, 4)) == f"<t:{noon}:D>"


def test_safe_url_only_http_and_escapes_parentheses() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("ftp://example.org/x") is None
    assert safe_url(None) is None
    assert (
        safe_url("https://en.wikipedia.org/wiki/Foo_(bar) baz")
        == "https://en.wikipedia.org/wiki/Foo_%28bar%29%20baz"
    )


def test_citation_title_is_a_masked_link_with_source_and_date() -> None:
    cite = Citation(
        "a1", "Solar [farm] opens", "Coast Herald", date(2024, 3, 4), "https://example.org/solar", "a.txt"
    )
    line = citation(cite)
    assert line.startswith(r"[Solar \[farm\] opens](https://example.org/solar)")
    assert "Coast Herald" in line and "<t:" in line and ":D>" in line


def test_citation_without_url_is_plain_italic_title() -> None:
    cite = Citation("a1", "Title", None, None, None, None)
    assert citation(cite) == "*Title*"


def test_answer_embed_best_sentence_first_then_cited_passages() -> None:
    best = snippet("The harbour city of Lindqvist opened a floating solar farm on Monday.", "solar", "farm")
    a = answer(
        hit(PASSAGE, "solar", "farm", title="Harbour city opens floating solar farm"),
        hit("Other text about solar power.", "solar", title="Other", url=None, n=1, article_id="a2"),
        best=best,
    )
    embed = answer_embed(a)
    desc = embed.description or ""
    assert embed.title == "who opened the solar farm?"
    assert desc.startswith("> The harbour city of Lindqvist opened a floating **solar** **farm**")
    assert "**1.**" in desc and "**2.**" in desc
    assert "[Harbour city opens floating solar farm](https://example.org/a)" in desc
    assert "*Other*" in desc
    footer = embed.footer.text or ""
    assert footer.startswith("2 of 2 matching articles") and "v1" not in footer  # version: /logs


def test_headline_is_not_repeated_in_its_passage_and_copies_fold() -> None:
    head = "The harbour city of Lindqvist opened a floating solar farm on Monday."
    text = "Crowds gathered early. " + head + " The mayor cut a ribbon."
    copy = Citation("c1", "Solar farm opens", "Daily Ledger", None, "https://example.org/copy", None)
    first = dataclasses.replace(hit(text, "solar", "farm"), also=(copy,))
    a = dataclasses.replace(
        answer(first, best=snippet(head, "solar", "farm")),
        headline_hit=0,
        matching=1204,
        period="news since 2024",
    )
    embed = answer_embed(a)
    desc = embed.description or ""
    assert desc.count("floating") == 1 and "Crowds gathered early. (…) The mayor cut a ribbon." in desc
    assert "also reported by [Daily Ledger](https://example.org/copy)" in desc
    assert embed.footer.text == "1 of 1,204 matching articles · best match first · news since 2024"


def test_answer_embed_shows_active_filters_in_the_footer() -> None:
    a = answer(hit(PASSAGE, "solar"), filters=Filters(since=date(2024, 1, 1), source="Herald"))
    assert "since 2024-01-01" in (answer_embed(a).footer.text or "")
    assert "source Herald" in (answer_embed(a).footer.text or "")


def test_answer_embed_escapes_hostile_articles_and_questions() -> None:
    text = "@everyone **free nitro** [click](https://evil.example) <@&123456789012345678>"
    a = answer(
        hit(text, "nitro", title="# @here [x](https://evil.example)"),
        question="**who** @everyone <@123456789012345678>?",
    )
    embed = answer_embed(a)
    whole = f"{embed.title}\n{embed.description}"
    assert "@everyone" not in whole and "@here" not in whole
    assert not re.search(r"(?<!\\)<@", whole)
    assert not re.search(r"(?<!\\)\[click", whole)
    assert r"\*\*free **nitro**\*\*" in whole


def test_answer_embed_fits_huge_passages_and_questions() -> None:
    long = " ".join(["sanctions"] * 3000)
    a = answer(
        *(hit(long, "sanctions", title="T" * 600, n=i, article_id=f"a{i}") for i in range(3)),
        question="q" * 10_000,
        best=snippet(long, "sanctions"),
    )
    embed = answer_embed(a)
    assert len(embed.title or "") <= TITLE
    assert len(embed.description or "") <= DESCRIPTION
    assert len(embed) <= EMBED_TOTAL
    assert (embed.description or "").count("**") % 2 == 0


def test_no_match_embed_is_honest_and_lists_the_closest_titles_once() -> None:
    a = answer(
        hit("x", title="Closest one", article_id="a1"),
        hit("y", title="Closest one", article_id="a1", n=1),
        hit("z", title="Second", url=None, article_id="a2", n=2),
        matched=False,
        filters=Filters(source="Daily Ledger"),
    )
    embed = answer_embed(a)
    desc = embed.description or ""
    assert desc.startswith("I found nothing in the indexed news that answers this")
    assert "source Daily Ledger" in desc
    assert desc.count("Closest one") == 1 and "Second" in desc


def test_no_match_embed_without_any_hit() -> None:
    embed = answer_embed(answer(matched=False))
    assert "Nothing came close" in (embed.description or "")


def test_progress_text_has_a_bar_only_with_a_total() -> None:
    assert progress_text("reading", 5, 10) == "Reindexing… reading `█████░░░░░` 5/10"
    assert progress_text("saving", 0, 0) == "Reindexing… saving"


def test_report_embed_lists_counts_and_skipped_reasons() -> None:
    skipped = tuple(Skipped(f"bad_{i}.txt", "not UTF-8") for i in range(300))
    report = BuildReport(
        articles=10,
        passages=50,
        added=2,
        updated=1,
        removed=1,
        unchanged=6,
        skipped=skipped,
        seconds=1.25,
        version="v2",
    )
    embed = report_embed(report)
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Added"] == "2" and fields["Removed"] == "1" and fields["Took"] == "1.2 s"
    assert fields["Version"] == "`v2`"
    notes = fields["Skipped or repaired (300)"] or ""
    assert r"bad\_0.txt: not UTF-8" in notes and "more" in notes
    assert len(embed) <= EMBED_TOTAL


def test_stats_embed() -> None:
    stats = IndexStats(
        articles=4,
        passages=20,
        sources=(("Daily Ledger", 2), ("Coast_Herald", 1)),
        first_date=date(2023, 11, 12),
        last_date=date(2024, 5, 20),
        version="v3",
        built_at="2024-06-01T10:00:00Z",
        size_bytes=123_456,
        corpus="/srv/news_corpus",
    )
    embed = stats_embed(stats)
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Articles"] == "4" and fields["Size"] == "123.5 kB"
    assert r"Coast\_Herald: 1" in (fields["Sources (2)"] or "")
    assert (fields["Built"] or "").startswith("<t:")
    assert embed.description == "`/srv/news_corpus`"  # a code span: escapes would show in it


def test_more_embed_numbers_on_after_the_shown_passages() -> None:
    hits = [
        hit(f"Passage number {n} about solar.", "solar", title=f"T{n}", article_id=f"a{n}", n=n)
        for n in range(5)
    ]
    embed = more_embed(dataclasses.replace(answer(*hits), matching=9), 3)
    desc = embed.description or ""
    assert embed.title == "More: who opened the solar farm?"
    assert "**4.** Passage number 3" in desc and "**5.** Passage number 4" in desc and "**1.**" not in desc
    assert (embed.footer.text or "").startswith("2 of 9 matching articles")
    assert "That was everything" in (more_embed(answer(*hits[:3]), 3).description or "")


def test_without_a_headline_the_first_passage_is_not_shown_twice() -> None:
    embed = answer_embed(answer(hit(PASSAGE, "solar")))
    desc = embed.description or ""
    assert desc.startswith("**1.**") and desc.count(PASSAGE[:40]) == 1


def test_a_second_passage_is_quoted_under_its_article_in_order_and_kept_whole() -> None:
    head = "The council approved the river dam on Monday."
    later = "Norwick Engineering will build the dam, the company said. " * 8  # ~460 characters
    first = dataclasses.replace(
        hit("Crowds gathered. " + head + " " + "The vote was close. " * 20, "dam"),
        second=Quote(passage_id=9, position=3, snippet=snippet(later.strip(), "dam")),
    )
    others = [hit("Other dam news. " * 25, "dam", n=n, article_id=f"a{n}", title=f"T{n}") for n in (1, 2)]
    a = dataclasses.replace(answer(first, *others, best=snippet(head, "dam")), headline_hit=0)
    desc = answer_embed(a).description or ""
    assert desc.count("Monday") == 1 and "Crowds gathered. (…) The vote was close." in desc
    block = desc[desc.index("**1.**") : desc.index("**2.**")]
    assert block.index("The vote was close.") < block.index("Norwick Engineering") < block.index("— ")
    assert block.count("Norwick Engineering") == 8  # the longer block took the room the others left
    assert len(desc) <= DESCRIPTION


def test_shares_give_short_blocks_their_size_and_the_rest_to_long_ones() -> None:
    assert shares([100, 200, 300], 1000) == [100, 200, 700]
    assert shares([1000, 100, 1000], 1000) == [450, 100, 450]
    assert sum(shares([5000, 5000, 5000], 3000)) <= 3000
