"""300 feeds polled on their schedule beside steady questions: does /ask's p95 stay within 20%?

    python -m benchmarks.feeds_load                        # 300 feeds, 10 min of polling (~20 min)
    python -m benchmarks.feeds_load --feeds 30 --minutes 1 --baseline 1   # a quick look

realtimeqa (../shared/data, linked into a temporary corpus folder, never copied) is indexed at the
default settings. A local server (127.0.0.1, a process of its own) serves `--feeds` RSS feeds with
ETag/304, each with two items whose article pages are realtimeqa articles with the words of each
paragraph shuffled (new text: not folded as copies of the indexed corpus). The feeds are polled
once untimed (the state a running bot is in), then scheduled at the minimum interval (10 min),
their next polls spread evenly over the polling period, as jitter spreads them in a running bot.

In one event loop, as in `newsbot run`: questions (realtimeqa's dev questions) arrive at a
steady `--rate`, each answered as the /ask cog answers (`Engine.ask`, then `answer_embed`, each
through `asyncio.to_thread`; the query log left out), timed from its arrival. First a baseline
without polling (half of `--baseline`), then `--minutes` with the bot's own `FeedPolling`
running (leadership, rounds in its child process at the default politeness, 1 s between two
requests to the one local host, `Engine.add` after each round that wrote articles; with
`--in-process`, on the bot's own threads as before) while new
items appear every `--new-every` seconds in feeds whose poll is still ahead, then the rest of
the baseline. Figures go to docs/performance.md ("Feeds").
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import multiprocessing
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.feeds import time_adds
from tests.feeds.server import SHARED_DATA, FeedServer, Item, page, rss, sample_articles

EVERY = timedelta(minutes=10)  # the shortest interval a feed may have
GUILD = 1234  # questions are asked from a server, as /ask is


def shuffled(item: Item, seed: int) -> Item:
    """The article with the words of its title and of each paragraph shuffled: the same words and
    length, a text no corpus article has."""
    rng = random.Random(seed)

    def mix(text: str) -> str:
        words = text.split()
        rng.shuffle(words)
        return " ".join(words)

    paragraphs = [mix(p) for p in item.text.split("\n\n") if p.strip()]
    return Item(mix(item.title), "\n\n".join(paragraphs), date=datetime.now(UTC))


class _Feeds:
    """The server's feeds, each answering a conditional GET with 304 when its ETag matches."""

    def __init__(self, server: FeedServer, sources: list[Item]) -> None:
        self.server, self.sources = server, sources
        self.items: dict[int, list[Item]] = {}
        self.made = 0

    def add(self, feed: int) -> None:
        article = shuffled(self.sources[self.made % len(self.sources)], self.made)
        path = f"/a/{self.made}"
        self.server.serve(path, page(article.title, article.text))
        item = Item(
            article.title, article.text, link=self.server.url(path), guid=f"i{self.made}", date=article.date
        )
        self.items.setdefault(feed, []).append(item)
        self.made += 1
        body = rss(self.items[feed], title=f"Feed {feed}")
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

        async def handler(request: Any) -> Any:
            from aiohttp import web

            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            return web.Response(body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"})

        self.server.routes[f"/feed/{feed}"] = handler


def _serve(feeds: int, initial: int, sources: list[Item], port_out: Any, new_in: Any) -> None:
    """The local server process: `feeds` feeds of `initial` items; a feed number put on `new_in`
    gets a new item (answered on `port_out` with the count made so far)."""

    async def main() -> None:
        server = await FeedServer().start()
        made = _Feeds(server, sources)
        for n in range(feeds):
            for _ in range(initial):
                made.add(n)
        port_out.put(server.port)
        while True:
            made.add(await asyncio.to_thread(new_in.get))
            port_out.put(made.made)

    asyncio.run(main())


@dataclass(frozen=True)
class Setup:
    port: int
    ports: Any  # the server's answers
    new_items: Any  # feed numbers that get a new item
    corpus: Path
    folder: Path


@contextmanager
def feed_server(feeds: int, articles: Path | None, initial: int = 2) -> Iterator[Setup]:
    """The server process beside a temporary corpus folder (holding a link to `articles`)."""
    sources = list(sample_articles(200))
    ports: Any = multiprocessing.Queue()
    new_items: Any = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=_serve, args=(feeds, initial, sources, ports, new_items), daemon=True
    )
    server.start()
    try:
        port = ports.get(timeout=120)
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "corpus"
            corpus.mkdir()
            if articles is not None:
                (corpus / articles.name).symlink_to(articles.resolve())
            yield Setup(port, ports, new_items, corpus, Path(tmp))
    finally:
        server.terminate()
        server.join(10)


def questions(limit: int = 4000) -> list[str]:
    path = SHARED_DATA / "realtimeqa" / "questions_dev.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line)["question"] for line in fh][:limit]


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max in milliseconds (nearest rank)."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] * 1000

    figures = {f"p{p} ms": round(rank(p), 1) for p in (50, 95, 99)}
    return {"questions": len(ordered), **figures, "max ms": round(rank(100), 1)}


async def ask_steadily(engine: Any, asked: list[str], rate: float, seconds: float, start: int) -> list[float]:
    """Questions arriving every 1/`rate` s for `seconds`, each answered as the /ask cog does (in
    the default executor, the embed drawn in a thread too); the latency of each from its arrival."""
    from newsbot.bot.embeds.render import answer_embed
    from newsbot.errors import NewsbotError
    from newsbot.records import Filters

    loop = asyncio.get_running_loop()
    latencies: list[float] = []

    async def one(question: str, arrival: float) -> None:
        try:
            answer = await asyncio.to_thread(engine.ask, question, filters=Filters(guild=GUILD))
            await asyncio.to_thread(answer_embed, answer)
        except NewsbotError:  # a refused question: the cog replies with the message instead
            pass
        latencies.append(loop.time() - arrival)

    began = loop.time()
    jobs = []
    n = 0
    while (arrival := began + n / rate) < began + seconds:
        await asyncio.sleep(max(0.0, arrival - loop.time()))
        jobs.append(asyncio.create_task(one(asked[(start + n) % len(asked)], arrival)))
        n += 1
    await asyncio.gather(*jobs)
    return latencies


def run(
    feeds: int = 300,
    minutes: float = 10.0,
    baseline: float = 5.0,
    rate: float = 5.0,
    new_every: float = 5.0,
    spacing: float = 1.0,
    articles: Path | None = SHARED_DATA / "realtimeqa" / "articles.jsonl.gz",
    asked: list[str] | None = None,
    in_child_process: bool = True,
) -> dict[str, Any]:
    from newsbot.bot.background import FeedPolling, Timing
    from newsbot.bot.client import NewsBot
    from newsbot.engine import Engine
    from newsbot.feeds.fetch import Fetcher, Limits
    from newsbot.feeds.ingest import Ingester
    from newsbot.feeds.poller import poll_due
    from newsbot.feeds.store import open_feed_store
    from newsbot.settings import Settings

    asked = asked or questions()
    with feed_server(feeds, articles) as setup:
        settings = Settings(
            corpus_dir=setup.corpus,
            data_dir=setup.folder / "data",
            feeds_allow_private=True,
            reindex_in_child=in_child_process,
        )
        t = time.perf_counter()
        engine = Engine.open(settings)
        result: dict[str, Any] = {
            "articles": len(engine.index.articles),
            "passages": engine.index.n_live,
            "cold build s": round(time.perf_counter() - t, 1),
            "feeds": feeds,
        }
        store = open_feed_store(settings)
        now = datetime.now(UTC)
        for n in range(feeds):
            store.add(f"http://127.0.0.1:{setup.port}/feed/{n}", f"Feed {n}", f"feed-{n}", EVERY, now)

        async def warm_up() -> list[str]:
            ingester = Ingester(store, setup.corpus)
            async with Fetcher(allow_private=True, limits=Limits(host_spacing=0.0)) as fetcher:
                reports = await poll_due(store, fetcher, ingester, now, random.Random(1))
            return [p for r in reports for p in r.changes.added]

        t = time.perf_counter()
        written = asyncio.run(warm_up())
        engine.add([setup.corpus / p for p in written])
        result["warm-up: articles written and indexed"] = len(written)
        result["warm-up s"] = round(time.perf_counter() - t, 1)

        async def main() -> None:
            period, half = minutes * 60, baseline * 60 / 2
            before = await ask_steadily(engine, asked, rate, half, 0)
            begins = datetime.now(UTC)
            for n, feed in enumerate(store.feeds()):  # spread over the period, in feed order
                store.update(feed.id, next_poll_at=begins + timedelta(seconds=(n + 0.5) * period / feeds))
            polling = FeedPolling(
                NewsBot(settings, engine=engine), Timing(limits=Limits(host_spacing=spacing))
            )
            adds: list[float] = []
            time_adds(engine, adds)  # in-process: what the round's indexing took
            in_child = polling.round_elsewhere

            async def timed_round(rounds: Any, store: Any) -> Any:  # the whole round, if it indexed
                started, version = time.perf_counter(), engine.version
                out = await in_child(rounds, store)
                if engine.version != version:
                    adds.append(time.perf_counter() - started)
                return out

            polling.round_elsewhere = timed_round  # type: ignore[method-assign]

            async def publish() -> int:
                published, rng = 0, random.Random(7)
                began = time.monotonic()
                while (elapsed := time.monotonic() - began + new_every) < period:
                    await asyncio.sleep(new_every)
                    ahead = int(elapsed / period * feeds) + 1  # feeds whose poll is still ahead
                    if ahead < feeds:
                        setup.new_items.put(rng.randrange(ahead, feeds))
                        await asyncio.to_thread(setup.ports.get, True, 30)
                        published += 1
                return published

            polling.start()
            try:
                during, published = await asyncio.gather(
                    ask_steadily(engine, asked, rate, period, len(before)), publish()
                )
            finally:
                await polling.stop()
            after = await ask_steadily(engine, asked, rate, half, len(before) + len(during))
            polled = [f for f in store.feeds() if f.last_poll_at and f.last_poll_at >= begins]
            result.update(
                {
                    "polls in the period (feeds polled)": len(polled),
                    "new items published": published,
                    "where the rounds ran": "a child process" if in_child_process else "the bot's threads",
                    "rounds that indexed": len(adds),
                    "indexing s (median, max): Engine.add, or the child's whole round": [
                        round(sorted(adds)[len(adds) // 2], 2) if adds else None,
                        round(max(adds), 2) if adds else None,
                    ],
                    "passages after": engine.index.n_live,
                    "baseline before": percentiles(before),
                    "while polling": percentiles(during),
                    "baseline after": percentiles(after),
                    "baseline": percentiles(before + after),
                }
            )

        asyncio.run(main())
        written_all = list((setup.corpus / "feeds").rglob("*.md"))
        result["articles written in all"] = len(written_all)
        store.close()
        engine.close()
    base, load = result["baseline"].get("p95 ms"), result["while polling"].get("p95 ms")
    result["p95 ratio, polling / baseline"] = round(load / base, 2) if base and load else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=10.0, help="the polling period")
    parser.add_argument("--baseline", type=float, default=5.0, help="minutes without polling, half before")
    parser.add_argument("--rate", type=float, default=5.0, help="questions a second")
    parser.add_argument("--new-every", type=float, default=5.0, help="seconds between two new items")
    parser.add_argument("--spacing", type=float, default=1.0, help="seconds between two requests to a host")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="rounds on the bot's threads (NEWSBOT_REINDEX_IN_CHILD=0), not in the default child process",
    )
    args = parser.parse_args()
    out = run(
        args.feeds,
        args.minutes,
        args.baseline,
        args.rate,
        args.new_every,
        args.spacing,
        in_child_process=not args.in_process,
    )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
