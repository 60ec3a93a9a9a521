"""watchrender: a watch's post, digest, list and paused notice fit Discord and render literally."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from newsbot.bot.embeds.watchrender import digest_embed, match_embed, paused_text, watches_embed
from newsbot.bot.limits import CONTENT, DESCRIPTION, EMBED_TOTAL, TITLE
from newsbot.records import Article
from newsbot.text.analyzer import default_analyzer
from newsbot.watches import Delivery, Digest, Match, Mode, Watch
from newsbot.watches.quote import quote

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
WATCH = Watch(1, "lighthouse keepers strike", Mode.INSTANT, NOW, guild_id=5, user_id=7)
PASSAGE = (
    "Ferries slowed down overnight. Lighthouse keepers on the northern coast went on strike "
    "over pay, said @everyone at <@&123> **union** [hq](https://evil.example)."
)


def match(n: int = 1, title: str = "Keepers strike **now** @everyone", passage: str = PASSAGE) -> Match:
    article = Article(
        id=f"a{n}",
        title=title,
        text="",
        source="Coast Herald",
        date=date(2026, 3, 1),
        url=f"https://example.org/{n}",
    )
    terms = ("lighthous", "keeper", "strike")
    return Match(n, WATCH, article, 0.8, passage, terms, Delivery.NOW, NOW)


def test_a_post_quotes_the_best_sentence_with_the_watchs_words_in_bold() -> None:
    found = match()
    embed = match_embed(found, quote(found, default_analyzer())).to_dict()
    assert embed["url"] == "https://example.org/1"
    assert embed["title"] == "Keepers strike \\*\\*now\\*\\* @\u200beveryone"
    description = embed["description"]
    assert description.startswith("> **Lighthouse** **keepers** on the northern coast went on **strike**")
    assert "Ferries" not in description  # only the sentence holding the watch's words
    assert "@\u200beveryone" in description and "\\<@&123\\>" in description
    assert "\\*\\*union\\*\\*" in description and "\\[hq\\]" in description
    assert embed["footer"]["text"] == "Watch #1: lighthouse keepers strike"
    assert [f["name"] for f in embed["fields"]] == ["Source", "Date"]


def test_a_huge_article_still_fits() -> None:
    found = match(title="T" * 5000, passage="Lighthouse keepers strike. " * 2000)
    embed = match_embed(found, quote(found, default_analyzer()))
    assert len(embed.title or "") <= TITLE and len(embed) <= EMBED_TOTAL
    assert len(embed.description or "") <= DESCRIPTION


def test_a_digest_lists_every_story_and_counts_the_rest() -> None:
    found = [match(n, title=f"Story {n}") for n in range(1, 31)]
    digest = Digest(WATCH, tuple(found[:25]), tuple(m.id for m in found))
    embed = digest_embed(digest, [quote(m, default_analyzer()) for m in digest.matches])
    assert embed.title == "Digest of watch #1 “lighthouse keepers strike”"
    assert len(embed) <= EMBED_TOTAL and (embed.description or "").endswith("…and 5 more.")
    assert "[Story 1](https://example.org/1)" in (embed.description or "")
    assert embed.footer.text == "30 new articles since the last digest"


def test_the_list_shows_where_each_watch_posts_and_its_state() -> None:
    muted = Watch(2, "rail", Mode.DAILY, NOW, guild_id=5, channel_id=9, muted_until=NOW + timedelta(hours=2))
    paused = Watch(3, "chess", Mode.INSTANT, NOW, guild_id=5, user_id=7, paused="DMs closed")
    text = watches_embed([WATCH, muted, paused], NOW, everyone=True).description or ""
    lines = text.splitlines()
    assert lines[0] == "**#1 “lighthouse keepers strike”** · instant · DMs of <@7> · running"
    assert lines[1].startswith("**#2 “rail”** · daily · <#9> · muted until <t:")
    assert lines[2].endswith("paused: DMs closed")
    assert "No watches yet" in (watches_embed([], NOW, everyone=False).description or "")


def test_the_paused_notice_names_the_owner_and_the_way_back_and_escapes_the_query() -> None:
    hostile = Watch(4, "@everyone **x**", Mode.INSTANT, NOW, guild_id=5, user_id=7, paused="DMs closed")
    text = paused_text(hostile)
    assert text.startswith("Watch #4 “@\u200beveryone \\*\\*x\\*\\*” for <@7> is paused: DMs closed.")
    assert "/watch resume 4" in text and len(text) <= CONTENT
