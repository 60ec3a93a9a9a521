"""Polling end to end against the local server: conditional GET, statuses, schedule, ingest."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

import newsbot.feeds.poller as poller
from newsbot.corpus.read import read_file
from newsbot.engine import Engine
from newsbot.errors import NewsbotError
from newsbot.feeds.fetch import Fetcher
from newsbot.feeds.ingest import Ingester
from newsbot.feeds.parse import BadFeed
from newsbot.feeds.poller import PollReport, poll_due, poll_feed, subscribe
from newsbot.feeds.store import FeedRecord, FeedStore
from newsbot.settings import Settings
from tests.feeds.server import FIXTURES, FeedServer, Item, atom, page, rss

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Rig:
    server: FeedServer
    fetcher: Fetcher
    store: FeedStore
    ingester: Ingester
    corpus: Path

    def add(self, path: str = "/feed", name: str = "Test Wire") -> FeedRecord:
        return self.store.add(
            self.server.url(path), name, name.lower().replace(" ", "-"), timedelta(minutes=30), NOW
        )

    async def poll(self, feed: FeedRecord, now: datetime = NOW) -> PollReport:
        return await poll_feed(
            self.store.get(feed.id), self.fetcher, self.store, self.ingester, now, random.Random(1)
        )

    def article(self, path: str) -> tuple[str, str]:
        """(front matter, body) of a written article file."""
        _, head, body = (self.corpus / path).read_text().split("---\n", 2)
        return head, body

    def items(self, n: int, *, pages: bool = True) -> list[Item]:
        """The first n fixtures, each with a link to its page on the server."""
        out = []
        for i, fixture in enumerate(FIXTURES[:n]):
            link = self.server.url(f"/news/{i}")
            if pages:
                self.server.serve(f"/news/{i}", page(fixture.title, fixture.text))
            out.append(Item(fixture.title, fixture.text, link=link, guid=f"id-{i}", date=fixture.date))
        return out


@pytest.fixture
async def rig(server: FeedServer, fetcher: Fetcher, store: FeedStore, tmp_path: Path) -> AsyncIterator[Rig]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    yield Rig(server, fetcher, store, Ingester(store, corpus), corpus)


async def test_rss_items_become_corpus_articles(rig: Rig) -> None:
    rig.server.serve("/feed", rss(rig.items(3)))
    feed = rig.add()
    report = await rig.poll(feed)
    assert len(report.changes.added) == 3 and report.changes.from_summary == 0 and report.error is None
    head, body = rig.article(report.changes.added[0])
    assert f"title: {FIXTURES[0].title}" in head and "source: Test Wire" in head
    assert "date: 2024-03-01T09:30:00+00:00" in head and "extraction: page" in head
    assert f"url: {rig.server.url('/news/0')}\n" in head  # the real link, scheme kept
    assert not body.startswith(FIXTURES[0].title)  # the page's headline is not repeated in the text
    assert "paragraph 5 of the report" in body  # the page's full text, not the feed's 40 words
    (article,) = read_file(rig.corpus / report.changes.added[0], rig.corpus).articles
    assert (
        article.source == "Test Wire"
        and article.date is not None
        and article.date.isoformat() == "2024-03-01"
    )
    assert rig.store.articles(feed.id) == 3
    saved = rig.store.get(feed.id)
    assert saved.errors == 0 and saved.last_result and "3 new" in saved.last_result
    assert NOW + timedelta(minutes=27) <= saved.next_poll_at <= NOW + timedelta(minutes=33)


async def test_atom_feed(rig: Rig) -> None:
    rig.server.serve("/atom", atom(rig.items(2, pages=False)))  # pages 404: the feed's content is used
    report = await rig.poll(rig.add("/atom"))
    assert len(report.changes.added) == 2 and report.changes.from_summary == 2
    head, body = rig.article(report.changes.added[1])
    assert "extraction: feed summary" in head and "paragraph 5 of the report" in body


async def test_validators_are_stored_byte_for_byte_and_sent_back(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = 'W/"a\\"b c;ü"'
    modified = "Wed, 01 May 2024 10:00:00 GMT"
    body = rss(rig.items(1))
    state = {"status": 200}

    async def feed(request: web.Request) -> web.Response:
        if (
            request.headers.get("If-None-Match") == etag
            and request.headers.get("If-Modified-Since") == modified
        ):
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=body, status=state["status"], headers={"ETag": etag, "Last-Modified": modified}
        )

    rig.server.routes["/feed"] = feed
    parses: list[bytes] = []
    real = poller.parse_feed
    monkeypatch.setattr(poller, "parse_feed", lambda b, t=None: parses.append(b) or real(b, t))
    f = rig.add()
    first = await rig.poll(f)
    assert first.changes.changed and len(parses) == 1
    saved = rig.store.get(f.id)
    assert (saved.etag, saved.last_modified) == (etag, modified)

    rig.store.update(f.id, next_poll_at=NOW)
    (report,) = await poll_due(
        rig.store, rig.fetcher, rig.ingester, NOW + timedelta(hours=1), random.Random(1)
    )
    second = rig.server.hits("/feed")[-1].headers
    assert second["If-None-Match"] == etag and second["If-Modified-Since"] == modified
    assert len(parses) == 1 and report.not_modified and not report.changes.changed  # no parse, no reindex
    assert rig.store.get(f.id).last_result == "not modified (304)"


async def test_same_body_without_validators_is_not_modified(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.server.serve("/feed", rss(rig.items(2)))
    parses: list[bytes] = []
    real = poller.parse_feed
    monkeypatch.setattr(poller, "parse_feed", lambda b, t=None: parses.append(b) or real(b, t))
    f = rig.add()
    await rig.poll(f)
    again = await rig.poll(f, NOW + timedelta(hours=1))
    assert again.not_modified and not again.changes.changed and len(parses) == 1
    assert "If-None-Match" not in rig.server.hits("/feed")[-1].headers


async def test_rss_ttl_is_honoured_on_later_polls_too(rig: Rig) -> None:
    rig.server.serve("/feed", rss(rig.items(1), ttl=180), ETag='"t"')
    f = rig.add()
    await rig.poll(f)
    assert rig.store.get(f.id).next_poll_at == NOW + timedelta(hours=3)
    rig.server.serve("/feed", "", status=304)
    later = NOW + timedelta(hours=3)
    assert (await rig.poll(f, later)).not_modified  # nothing parsed, the ttl remembered
    assert rig.store.get(f.id).next_poll_at == later + timedelta(hours=3)


async def test_unconditional_fetch_every_twelve_hours(rig: Rig) -> None:
    rig.server.serve("/feed", rss(rig.items(1)), ETag='"v1"')
    f = rig.add()
    await rig.poll(f)
    await rig.poll(f, NOW + timedelta(hours=1))
    await rig.poll(f, NOW + timedelta(hours=13))
    sent = [h.headers.get("If-None-Match") for h in rig.server.hits("/feed")]
    assert sent == [None, '"v1"', None]


async def test_re_polls_never_re_add_and_an_updated_item_replaces_its_article(
    rig: Rig, tmp_path: Path
) -> None:
    items = rig.items(2)
    rig.server.serve("/feed", rss(items))
    f = rig.add()
    first = await rig.poll(f)
    settings = Settings(corpus_dir=rig.corpus, data_dir=tmp_path / "data")
    engine = Engine(settings)
    engine.reindex()
    old_passages = engine.index.n_live
    assert engine.ask("tram line objections").hits[0].citation.title == FIXTURES[0].title

    edited = FIXTURES[0].text.replace("tram line", "cable car")
    rig.server.serve("/news/0", page(FIXTURES[0].title, edited))
    items[0] = Item(items[0].title, edited, link=items[0].link, guid=items[0].guid, date=items[0].date)
    rig.server.serve("/feed", rss(items) + b"\n")
    second = await rig.poll(f, NOW + timedelta(hours=1))
    assert second.changes.added == () and second.changes.updated == (first.changes.added[0],)
    assert second.changes.unchanged == 1
    engine.reindex()
    assert engine.index.n_live == old_passages  # replaced, not added
    hits = engine.ask("cable car objections").hits
    assert hits[0].citation.title == FIXTURES[0].title
    live = [
        engine.index.passage_text(p) for p in range(engine.index.n_passages) if p not in engine.index.dead
    ]
    assert not any("work on the tram line" in text for text in live)
    assert any("work on the cable car" in text for text in live)
    assert [a.title for a in engine.index.articles].count(FIXTURES[0].title) == 1


async def test_duplicate_guids_fall_back_to_links(rig: Rig) -> None:
    items = [
        Item(f.title, f.text, link=rig.server.url(f"/news/{i}"), guid="same")
        for i, f in enumerate(FIXTURES[:3])
    ]
    items.append(Item("Same link again", "x", link=items[0].link, guid="same"))
    rig.server.serve("/feed", rss(items))
    f = rig.add()
    report = await rig.poll(f)
    assert len(report.changes.added) == 3 and report.changes.unchanged == 1
    assert len(list(rig.corpus.rglob("*.md"))) == 3
    rig.server.serve("/feed", rss(items) + b" ")
    again = await rig.poll(f, NOW + timedelta(hours=1))
    assert not again.changes.changed and again.changes.folded == 0


async def test_an_item_edit_that_leaves_the_article_as_it_was_needs_no_reindex(rig: Rig) -> None:
    items = rig.items(1)
    rig.server.serve("/feed", rss(items))
    f = rig.add()
    await rig.poll(f)
    edited = Item(items[0].title, items[0].text, link=items[0].link, guid=items[0].guid, date=items[0].date,
                  summary="A new teaser line for the same article.")  # fmt: skip
    rig.server.serve("/feed", rss([edited]))
    again = await rig.poll(f, NOW + timedelta(hours=1))
    assert not again.changes.changed and again.changes.unchanged == 1  # the page's text is the same


async def test_missing_and_future_dates(rig: Rig) -> None:
    items = rig.items(2)
    items[0] = Item(items[0].title, items[0].text, link=items[0].link, guid="a")  # no date
    items[1] = Item(
        items[1].title, items[1].text, link=items[1].link, guid="b", date=NOW + timedelta(days=400)
    )
    rig.server.serve("/feed", rss(items))
    report = await rig.poll(rig.add())
    for path in report.changes.added:
        assert f"date: {NOW.isoformat()}" in rig.article(path)[0]  # first seen / clamped to now


async def test_paywall_teaser_falls_back_to_the_feed_and_says_so(rig: Rig) -> None:
    fixture = FIXTURES[2]
    rig.server.serve("/news/p", page(fixture.title, fixture.text, paywall=True))
    rig.server.serve("/news/t", page("Teaser", "Subscribe to read this story."))
    rig.server.serve("/robots.txt", "User-agent: *\nDisallow: /private/\n")
    rig.server.serve("/private/r", page(fixture.title, fixture.text))
    items = [
        Item(
            fixture.title,
            fixture.text,
            link=rig.server.url("/news/p"),
            guid="p",
            summary="Paywalled summary.",
        ),
        Item("Teaser", "x", link=rig.server.url("/news/t"), guid="t", summary="Teaser summary text."),
        Item("Robots", "x", link=rig.server.url("/private/r"), guid="r", summary="Robots summary text."),
    ]
    rig.server.serve("/feed", rss(items))
    report = await rig.poll(rig.add())
    assert len(report.changes.added) == 3 and report.changes.from_summary == 3
    bodies = [rig.article(p) for p in report.changes.added]
    assert all("extraction: feed summary" in head for head, _ in bodies)
    assert [b.strip() for _, b in bodies] == [
        "Paywalled summary.",
        "Teaser summary text.",
        "Robots summary text.",
    ]
    assert rig.server.hits("/private/r") == []  # robots.txt forbade it


async def test_same_article_from_two_feeds_is_indexed_once(rig: Rig) -> None:
    fixture = FIXTURES[0]
    rig.server.serve("/news/a", page(fixture.title, fixture.text))
    one = [Item(fixture.title, fixture.text, link=rig.server.url("/news/a?utm_source=one"), guid="x1")]
    two = [Item(fixture.title + " (wire)", "other", link=rig.server.url("/news/a#top"), guid="y9")]
    rig.server.serve("/one", rss(one))
    rig.server.serve("/two", rss(two, title="Other"))
    a, b = rig.add("/one", "One"), rig.add("/two", "Two")
    first, second = await rig.poll(a), await rig.poll(b)
    assert len(first.changes.added) == 1 and second.changes.added == () and second.changes.folded == 1
    assert len(list(rig.corpus.rglob("*.md"))) == 1
    (reported,) = rig.store.reported_by(first.changes.added[0])
    assert reported[0] == "Two" and reported[2] == "same link"


async def test_a_page_cannot_claim_another_sites_canonical_url(rig: Rig) -> None:
    fixture = FIXTURES[0]
    rig.server.serve("/news/a", page(fixture.title, fixture.text, canonical="https://news.example/a"))
    rig.server.serve("/news/b", page(fixture.title, fixture.text, canonical="/news/b-canonical?utm_source=x"))
    items = [
        Item(fixture.title, "s", link=rig.server.url("/news/a"), guid="a"),
        Item(fixture.title + " again", "s", link=rig.server.url("/news/b"), guid="b"),
    ]
    rig.server.serve("/feed", rss(items))
    report = await rig.poll(rig.add())
    assert len(report.changes.added) == 1 and report.changes.folded == 1  # the same text all the same
    head, _ = rig.article(report.changes.added[0])
    assert f"url: {rig.server.url('/news/a')}\n" in head
    assert rig.store.text_at_url("https://news.example/a") is None
    ((_, url, how),) = rig.store.reported_by(report.changes.added[0])
    assert how != "same link" and url == rig.server.url("/news/b-canonical").replace("http:", "https:")


async def test_near_duplicates_are_folded(rig: Rig) -> None:
    fixture = FIXTURES[1]
    copy = fixture.text.replace("\n\n", " ").rsplit(".", 2)[0] + ". (Reporting by the wire.)"
    rig.server.serve("/news/orig", page(fixture.title, fixture.text))
    rig.server.serve("/news/copy", page("Republished: " + fixture.title, copy))
    rig.server.serve("/other/x", page(FIXTURES[3].title, FIXTURES[3].text))
    rig.server.serve("/one", rss([Item(fixture.title, "s", link=rig.server.url("/news/orig"), guid="o")]))
    rig.server.serve(
        "/two",
        rss(
            [
                Item("Republished", "s", link=rig.server.url("/news/copy"), guid="c"),
                Item(FIXTURES[3].title, "s", link=rig.server.url("/other/x"), guid="x"),
            ]
        ),
    )
    first = await rig.poll(rig.add("/one", "One"))
    second = await rig.poll(rig.add("/two", "Two"))
    assert len(second.changes.added) == 1 and second.changes.folded == 1
    (reported,) = rig.store.reported_by(first.changes.added[0])
    assert reported[2].startswith("near duplicate")


@pytest.mark.parametrize("header", ["7200", "Wed, 01 May 2024 14:00:00 GMT"])
@pytest.mark.parametrize("status", [429, 503])
async def test_throttling_backs_off_honouring_retry_after(rig: Rig, status: int, header: str) -> None:
    rig.server.serve("/feed", "busy", status=status, **{"Retry-After": header})
    f = rig.add()
    report = await rig.poll(f)
    saved = rig.store.get(f.id)
    assert report.error == f"HTTP {status}" and saved.errors == 1 and saved.enabled
    assert saved.next_poll_at == NOW + timedelta(hours=2)  # later than the backoff's ~30 min
    second = await rig.poll(f, NOW + timedelta(hours=3))
    assert second.error and rig.store.get(f.id).errors == 2


async def test_backoff_then_recovery_resets_errors(rig: Rig) -> None:
    rig.server.serve("/feed", "oops", status=500)
    f = rig.add()
    waits = []
    for n in range(4):
        now = NOW + timedelta(days=n)
        await rig.poll(f, now)
        waits.append(rig.store.get(f.id).next_poll_at - now)
    assert waits == sorted(waits) and waits[-1] > waits[0] * 4
    rig.server.serve("/feed", rss(rig.items(1)))
    await rig.poll(f, NOW + timedelta(days=5))
    saved = rig.store.get(f.id)
    assert saved.errors == 0 and saved.first_error_at is None


async def test_gone_disables_and_a_week_of_failures_disables(rig: Rig) -> None:
    rig.server.serve("/gone", "", status=410)
    gone = rig.add("/gone", "Gone")
    await rig.poll(gone)
    assert not rig.store.get(gone.id).enabled and rig.store.due(NOW + timedelta(days=30)) == []
    rig.server.serve("/broken", b"<html>not a feed</html>")
    broken = rig.add("/broken", "Broken")
    for day in range(8):
        await rig.poll(broken, NOW + timedelta(days=day))
    saved = rig.store.get(broken.id)
    assert not saved.enabled and "7 days" in (saved.disabled_reason or "") and saved.errors == 8


async def test_permanent_redirect_updates_the_url_temporary_does_not(rig: Rig) -> None:
    rig.server.serve("/new-feed", rss(rig.items(1)))
    rig.server.serve("/old-feed", "", status=301, Location="/new-feed")
    rig.server.serve("/tmp-feed", "", status=302, Location="/new-feed")
    moved, temp = rig.add("/old-feed", "Moved"), rig.add("/tmp-feed", "Temp")
    await rig.poll(moved)
    await rig.poll(temp)
    assert rig.store.get(moved.id).url == rig.server.url("/new-feed")
    assert rig.store.get(temp.id).url == rig.server.url("/tmp-feed")
    rig.server.serve("/gone-html", b"<html>moved</html>")
    rig.server.serve("/old2", "", status=301, Location="/gone-html")
    bad = rig.add("/old2", "Bad")
    await rig.poll(bad)
    assert rig.store.get(bad.id).url == rig.server.url("/old2")  # the target is no feed
    again = rig.add("/old-feed", "Again")  # moves to a URL another feed already follows
    await rig.poll(again)
    assert rig.store.get(again.id).url == rig.server.url("/old-feed")


async def test_broken_xml_and_fetch_errors_are_recorded(rig: Rig) -> None:
    rig.server.serve("/feed", b"<html><p>maintenance</p></html>")
    f = rig.add()
    report = await rig.poll(f)
    assert report.error and "not an RSS or Atom feed" in report.error
    assert rig.store.get(f.id).last_result == f"error: {report.error}"
    rig.server.serve("/loop", "", status=302, Location="/loop")
    loop = await rig.poll(rig.add("/loop", "Loop"))
    assert loop.error and "loop" in loop.error


async def test_subscribe_checks_the_feed(rig: Rig) -> None:
    rig.server.serve("/feed", rss(rig.items(3), title="Lindqvist Gazette"))
    done = await subscribe(rig.store, rig.fetcher, rig.server.url("/feed"), now=NOW)
    assert done.items == 3 and done.feed.name == "Lindqvist Gazette" and done.feed.slug == "lindqvist-gazette"
    assert rig.store.due(NOW) == [done.feed]
    with pytest.raises(NewsbotError, match="already followed"):
        await subscribe(rig.store, rig.fetcher, rig.server.url("/feed"), now=NOW)
    rig.server.serve("/page", b"<html>hi</html>")
    with pytest.raises(BadFeed):
        await subscribe(rig.store, rig.fetcher, rig.server.url("/page"), now=NOW)
    rig.server.serve("/missing", "", status=404)
    with pytest.raises(BadFeed, match="404"):
        await subscribe(rig.store, rig.fetcher, rig.server.url("/missing"), now=NOW)
