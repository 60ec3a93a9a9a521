from datetime import UTC, datetime, timedelta

import pytest

from newsbot.feeds.parse import BadFeed, html_to_text, parse_feed, parse_page
from tests.feeds.server import FIXTURES, Item, atom, page, rss

WHEN = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def test_rss2() -> None:
    items = [Item("One", "Body one.", link="https://example.org/1", guid="g1", date=WHEN)]
    feed = parse_feed(rss(items, title="Wire", ttl=45))
    assert feed.title == "Wire" and feed.ttl == timedelta(minutes=45)
    (item,) = feed.items
    assert (item.guid, item.link, item.title, item.published) == ("g1", "https://example.org/1", "One", WHEN)
    assert item.text == "Body one."


def test_atom_prefers_full_content_over_summary() -> None:
    text = "First paragraph here.\n\nSecond paragraph, longer than the summary."
    feed = parse_feed(atom([Item("A", text, link="https://example.org/a", date=WHEN, summary="Short.")]))
    (item,) = feed.items
    assert item.text == text and item.published == WHEN and feed.ttl is None


def test_dates_other_zones_become_utc_and_missing_stay_none() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><title>a</title><pubDate>Fri, 01 Mar 2024 11:30:00 +0200</pubDate></item>"
        b"<item><title>b</title></item>"
        b"<item><title>c</title><pubDate>not a date</pubDate></item></channel></rss>"
    )
    a, b, c = parse_feed(body).items
    assert a.published == WHEN and b.published is None and c.published is None


def test_broken_xml_is_refused_or_read_loosely() -> None:
    with pytest.raises(BadFeed):
        parse_feed(b"<html><body>Not a feed at all</body></html>")
    with pytest.raises(BadFeed):
        parse_feed(b"\x00\x01garbage")
    # An unclosed tag: feedparser's loose parser still reads the items.
    loose = parse_feed(b'<rss version="2.0"><channel><title>t</title><item><title>ok</title><description>x')
    assert [i.title for i in loose.items] == ["ok"]


def test_non_utf8_feed_is_decoded_by_its_declaration() -> None:
    items = [Item("Café in Zürich", "Préface: naïve façade.", guid="1")]
    body = rss(items, encoding="iso-8859-1")
    assert "é".encode("latin-1") in body
    (item,) = parse_feed(body).items
    assert item.title == "Café in Zürich" and item.text == "Préface: naïve façade."
    # The HTTP charset is used when the document does not say.
    cp = "<rss version='2.0'><channel><title>t</title><item><title>£5 deal</title></item></channel></rss>"
    (item,) = parse_feed(cp.encode("cp1252"), "application/rss+xml; charset=windows-1252").items
    assert item.title == "£5 deal"


def test_html_to_text() -> None:
    assert html_to_text("<p>One &amp; two</p><p>Three<br>four</p>") == "One & two\n\nThree\n\nfour"
    assert html_to_text("plain") == "plain"
    assert html_to_text("<script>x</script>") in ("", "x")


def test_page_text_and_canonical() -> None:
    fixture = FIXTURES[0]
    got = parse_page(
        page(fixture.title, fixture.text, canonical="/news/tram"), "https://example.org/x?utm_source=a"
    )
    assert got.text is not None and "tram line" in got.text and "Privacy" not in got.text
    assert got.canonical == "https://example.org/news/tram" and not got.teaser


def test_paywall_and_short_pages_are_teasers() -> None:
    fixture = FIXTURES[1]
    walled = parse_page(page(fixture.title, fixture.text, paywall=True), "https://example.org/p")
    assert walled.teaser and walled.text is None
    short = parse_page(page("Teaser", "Subscribe to read the rest of this story."), "https://example.org/t")
    assert short.teaser and short.text is None
    assert parse_page(b"", "https://example.org/e").text is None
