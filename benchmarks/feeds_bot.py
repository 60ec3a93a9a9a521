"""From a new item in a followed feed to an answer, through the bot's own background wiring.

    python -m benchmarks.feeds_bot --rounds 3
    python -m benchmarks.feeds_bot --rounds 3 --words 200   # 212k passages, as benchmarks.run's 215k

realtimeqa (from ../shared/data, through a link in a temporary corpus folder, never copied) is
indexed; then, a few times, a new item appears in a local feed (the server of tests/feeds, in a
process of its own), the feed is made due (at the default settings the wait for that is the
polling interval, 30 min ± 10%, plus at most one 60 s nap), and one `FeedPolling.round` runs as
`newsbot run` runs it: poll and page fetch on the worker thread at the default politeness (1 s
between two requests to one host), the article file written, the incremental `Engine.reindex`
in a thread, then `Engine.ask` until it answers from the item. Figures go to
docs/performance.md ("Feeds").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.feeds import STORIES, growing_feed, latency_item, time_adds
from newsbot.text.passages import TARGET_WORDS


def run(rounds: int, words: int = TARGET_WORDS) -> dict[str, Any]:
    from newsbot.bot.background import FeedPolling, FeedWorker, Timing
    from newsbot.bot.client import NewsBot
    from newsbot.engine import Engine
    from newsbot.feeds.store import open_feed_store
    from newsbot.settings import Settings

    with growing_feed() as (port, ports, items, corpus, tmp):
        settings = Settings(corpus_dir=corpus, data_dir=tmp / "data", feeds_allow_private=True)
        started = time.perf_counter()
        engine = Engine.open(settings, passage_words=words)
        result: dict[str, Any] = {
            "articles": len(engine.index.articles),
            "passages": engine.index.n_live,
            "passage words": words,
            "cold build s": round(time.perf_counter() - started, 1),
            "rounds": [],
        }
        store = open_feed_store(settings)
        feed = store.add(
            f"http://127.0.0.1:{port}/feed", "Vindmark Post", "vindmark",
            timedelta(minutes=30), datetime.now(UTC),
        )  # fmt: skip

        async def main() -> None:
            polling = FeedPolling(NewsBot(settings, engine=engine), Timing())  # default timing
            worker = FeedWorker(settings.feeds_allow_private, polling.timing.limits)
            reindexing: list[float] = []
            time_adds(engine, reindexing)
            await worker.start()
            poller = polling.poller(store, worker)
            try:
                for n in range(rounds):
                    items.put(n)
                    await asyncio.to_thread(ports.get, True, 30)
                    store.update(feed.id, next_poll_at=datetime.now(UTC))  # its poll is due
                    t0 = time.perf_counter()
                    await polling.round(poller, worker)
                    t1 = time.perf_counter()
                    title, _, question = latency_item(n)
                    hit = (await asyncio.to_thread(engine.ask, question)).hits[0]
                    t2 = time.perf_counter()
                    assert hit.citation.title == title, hit.citation.title
                    result["rounds"].append(
                        {"round s (poll, page, file, reindex)": round(t1 - t0, 2),
                         "of which reindex s": round(reindexing[-1], 2),
                         "ask s": round(t2 - t1, 3), "total s": round(t2 - t0, 2)}
                    )  # fmt: skip
            finally:
                await worker.stop()

        asyncio.run(main())
        store.close()
        engine.close()
        return result


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, len(STORIES) + 1))
    parser.add_argument(
        "--words", type=int, default=TARGET_WORDS, help="passage length (200: 212k passages of realtimeqa)"
    )
    args = parser.parse_args()
    print(json.dumps(run(args.rounds, args.words), indent=2))


if __name__ == "__main__":
    cli()
