"""Feed ingestion on real news pages built from ../shared/data/realtimeqa (skipped when absent)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsbot.feeds.fetch import Fetcher
from newsbot.feeds.ingest import Ingester
from newsbot.feeds.poller import poll_feed
from newsbot.feeds.store import FeedStore
from tests.feeds.server import REALTIMEQA, FeedServer, Item, page, rss, sample_articles

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not REALTIMEQA.is_file(), reason=f"real data not available: {REALTIMEQA} is absent"),
]


async def test_real_articles_are_extracted_from_their_pages(
    server: FeedServer, fetcher: Fetcher, store: FeedStore, tmp_path: Path
) -> None:
    articles = list(sample_articles(30))
    items = []
    for i, a in enumerate(articles):
        server.serve(f"/a/{i}", page(a.title, a.text))
        items.append(Item(a.title, a.text, link=server.url(f"/a/{i}"), guid=a.guid, date=a.date))
    server.serve("/feed", rss(items))
    feed = store.add(server.url("/feed"), "Real", "real", timedelta(minutes=30), datetime.now(UTC))
    report = await poll_feed(
        feed, fetcher, store, Ingester(store, tmp_path / "c"), datetime.now(UTC), random.Random()
    )
    changes = report.changes
    assert len(changes.added) + changes.folded == len(articles)
    assert changes.from_summary <= len(articles) // 10  # the pages' text, not the feed's 40 words
    by_title = {" ".join(a.title.split()): a for a in articles}
    for path in changes.added[:10]:
        body = (tmp_path / "c" / path).read_text()
        article = by_title[body.split("title: ", 1)[1].split("\n", 1)[0]]
        longest = max(article.text.split("\n\n"), key=len)
        assert " ".join(longest.split()[:12]) in " ".join(body.split())
