"""Feed ingestion: the near-duplicate rule on real duplicates, and ingest throughput.

    python -m benchmarks.feeds dups               # realtimeqa and BBC from ../shared/data
    python -m benchmarks.feeds ingest --articles 2000 --feeds 20
    python -m benchmarks.feeds latency            # item in a feed -> answerable, on realtimeqa

`dups` runs the rule of `newsbot.feeds.identity` over every article in order and compares what
it folds with the duplicates the data sets mark (realtimeqa: the same normalised text; BBC:
`duplicate_of`). `ingest` serves real article pages (realtimeqa, else the test fixtures) from
the local test server in another process and times polling, fetching, extracting and writing
them, with a host spacing of 0 (the default 1 s would measure the politeness, not newsbot).
`latency` indexes realtimeqa (through a link in a temporary corpus folder), then times, for a few
new items one after another, the poll that sees the item and the incremental reindex until
`Engine.ask` answers from it.
Figures go to docs/performance.md ("Feeds").
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from newsbot.corpus.dedupe import text_key
from newsbot.feeds.fetch import Fetcher, Limits
from newsbot.feeds.identity import JACCARD, WINDOW, Fingerprint, NearDuplicates
from newsbot.feeds.ingest import Ingester
from newsbot.feeds.poller import poll_due
from newsbot.feeds.store import open_feed_store
from newsbot.settings import Settings
from tests.feeds.server import SHARED_DATA, FeedServer, Item, page, rss, sample_articles


def time_adds(engine: Any, took: list[float]) -> None:
    """Have `engine.add` put each call's seconds in `took`: what a feed round's indexing cost
    (the round calls it from the feed thread)."""
    add = engine.add

    def timed(paths: list[Path]) -> Any:
        started = time.perf_counter()
        try:
            return add(paths)
        finally:
            took.append(time.perf_counter() - started)

    engine.add = timed


BANDS = (0.5, 0.7, 0.8, JACCARD, 0.9, 0.95)


def _rows(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _date(row: dict[str, Any]) -> datetime | None:
    return datetime.fromisoformat(row["date"]).replace(tzinfo=UTC) if row.get("date") else None


def dups(
    name: str, rows: list[dict[str, Any]], marked: dict[str, str], window: timedelta | None
) -> dict[str, Any]:
    """Fold `rows` in order with the rule; compare with `marked` (duplicate id -> first copy)."""
    index = NearDuplicates(recent=len(rows) + 1, window=window)
    dates = {row["id"]: _date(row) for row in rows}
    folded: dict[str, tuple[str, str]] = {}
    best_of_others: list[float] = []  # the closest earlier text's Jaccard, for unmarked articles
    started = time.perf_counter()
    for row in rows:
        fp = Fingerprint.of(row["text"])
        match = index.find(fp, dates[row["id"]])
        if row["id"] not in marked:
            closest = index.closest(fp, dates[row["id"]])
            best_of_others.append(closest[1] if closest else 0.0)
        if match is None:
            index.add(row["id"], fp, dates[row["id"]])
        else:
            folded[row["id"]] = (match.of, match.how)
    seconds = time.perf_counter() - started
    missed = [d for d in marked if d not in folded]
    extra = {d: f for d, f in folded.items() if d not in marked}
    gaps = [
        abs((a - b).days)
        for d, (of, _) in extra.items()
        if (a := dates[d]) is not None and (b := dates[of]) is not None
    ]
    return {
        "data": name,
        "window": str(window),
        "articles": len(rows),
        "marked duplicates": len(marked),
        "folded": len(folded),
        "missed": len(missed),
        "folded, not marked": len(extra),
        "of which same text": sum(1 for _, how in extra.values() if how == "same text"),
        "unmarked articles by closest Jaccard": {
            f">= {b}": sum(1 for s in best_of_others if s >= b) for b in BANDS
        },
        "days apart, folded not marked": sorted(gaps),
        "seconds": round(seconds, 1),
        "folded not marked": [
            (d, of, how) for d, (of, how) in sorted(extra.items(), key=lambda kv: kv[1][1])
        ],
    }


def run_dups() -> list[dict[str, Any]]:
    results = []
    bbc = SHARED_DATA / "bbc_news" / "articles.jsonl.gz"
    if bbc.is_file():
        rows = _rows(bbc)
        marked = {r["id"]: r["duplicate_of"] for r in rows if r["duplicate_of"]}
        results.append(dups("bbc_news", rows, marked, WINDOW))  # no dates: the window never applies
        print(json.dumps(results[-1], default=str), flush=True)
    rtqa = SHARED_DATA / "realtimeqa" / "articles.jsonl.gz"
    if rtqa.is_file():
        rows = _rows(rtqa)
        first: dict[str, str] = {}
        marked = {}
        for row in rows:  # the data set's duplicates: the same normalised text
            key = text_key(row["text"])
            if key in first:
                marked[row["id"]] = first[key]
            else:
                first[key] = row["id"]
        for window in (WINDOW, None):
            results.append(dups("realtimeqa", rows, marked, window))
            print(json.dumps(results[-1], default=str), flush=True)
    return results


def _serve(items: list[Item], feeds: int, port_out: Any) -> None:
    """The local server, in a process of its own: `/feed/<n>` and `/a/<i>`."""

    async def main() -> None:
        server = await FeedServer().start()
        per = -(-len(items) // feeds)
        for n in range(feeds):
            chunk = []
            for i in range(n * per, min(len(items), (n + 1) * per)):
                item = items[i]
                server.serve(f"/a/{i}", page(item.title, item.text))
                chunk.append(
                    Item(item.title, item.text, link=server.url(f"/a/{i}"), guid=item.guid, date=item.date)
                )
            server.serve(f"/feed/{n}", rss(chunk, title=f"Feed {n}"))
        port_out.put(server.port)
        await asyncio.Event().wait()

    asyncio.run(main())


async def _ingest(port: int, feeds: int, folder: Path) -> dict[str, Any]:
    store = open_feed_store(Settings(data_dir=folder))
    now = datetime.now(UTC)
    for n in range(feeds):
        store.add(f"http://127.0.0.1:{port}/feed/{n}", f"Feed {n}", f"feed-{n}", timedelta(minutes=30), now)
    ingester = Ingester(store, folder / "corpus")
    async with Fetcher(allow_private=True, limits=Limits(host_spacing=0.0)) as fetcher:
        started = time.perf_counter()
        reports = await poll_due(store, fetcher, ingester, now, random.Random(1))
        seconds = time.perf_counter() - started
    store.close()
    added = sum(len(r.changes.added) for r in reports)
    return {
        "feeds": feeds,
        "items": added + sum(r.changes.folded for r in reports),
        "written": added,
        "folded": sum(r.changes.folded for r in reports),
        "from the feed's summary": sum(r.changes.from_summary for r in reports),
        "errors": [r.error for r in reports if r.error],
        "seconds": round(seconds, 1),
        "articles a minute": round(added / seconds * 60),
    }


def run_ingest(articles: int, feeds: int) -> dict[str, Any]:
    items = list(sample_articles(articles))
    ports: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(items, feeds, ports), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=120)
        with tempfile.TemporaryDirectory() as tmp:
            return asyncio.run(_ingest(port, feeds, Path(tmp)))
    finally:
        server.terminate()
        server.join(10)


# Made-up stories, one per round, with words the corpus does not have.
STORIES = [
    ("Vindmark", "glassblowers", "harbour kiln", "fuel costs"),
    ("Torsvik", "ferrymen", "northern pier", "winter timetable"),
    ("Ellholm", "beekeepers", "orchard hives", "pesticide ban"),
    ("Quarrow", "clockmakers", "tower bells", "repair fund"),
    ("Braeden", "lacemakers", "market hall", "stall rents"),
]


def latency_item(n: int) -> tuple[str, str, str]:
    """(title, text, question) of the n-th story."""
    town, trade, thing, issue = STORIES[n % len(STORIES)]
    title = f"{trade.capitalize()} of {town} settle the quarrel over the {thing}"
    text = "\n\n".join(
        f"The {trade} of {town} settled their long quarrel over the {thing} on Friday, the guild said "
        f"in statement number {p}, after the council agreed to share the {issue}."
        for p in range(1, 8)
    )
    return title, text, f"{town} {trade} {thing} quarrel"


def _serve_growing(port_out: Any, items_in: Any) -> None:
    """The local server with one feed, to which the benchmark adds items while it runs."""

    async def serve() -> None:
        server = await FeedServer().start()
        items: list[Item] = []
        server.serve("/feed", rss(items))
        port_out.put(server.port)
        while True:
            n = await asyncio.to_thread(items_in.get)
            title, text, _ = latency_item(n)
            server.serve(f"/a/{n}", page(title, text))
            when = datetime.now(UTC)
            items.append(Item(title, text, link=server.url(f"/a/{n}"), guid=f"lat-{n}", date=when))
            server.serve("/feed", rss(items))
            port_out.put(n)

    asyncio.run(serve())


@contextmanager
def growing_feed() -> Iterator[tuple[int, Any, Any, Path, Path]]:
    """A local feed server (its own process) that publishes realtimeqa item n when `n` is put on
    `items` and answers on `ports`, beside a temporary corpus holding realtimeqa's articles (a
    link: read in place, never copied). Yields (port, ports, items, corpus, temporary folder)."""
    source = SHARED_DATA / "realtimeqa" / "articles.jsonl.gz"
    ports: Any = multiprocessing.Queue()
    items: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve_growing, args=(ports, items), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=60)
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            corpus = tmp / "corpus"
            corpus.mkdir()
            (corpus / source.name).symlink_to(source)
            yield port, ports, items, corpus, tmp
    finally:
        server.terminate()
        server.join(10)


def run_latency(rounds: int) -> dict[str, Any]:
    from newsbot.engine import Engine

    with growing_feed() as (port, ports, items, corpus, tmp):
        settings = Settings(corpus_dir=corpus, data_dir=tmp / "data")
        engine = Engine(settings)
        started = time.perf_counter()
        engine.reindex()
        result: dict[str, Any] = {
            "articles": len(engine.index.articles),
            "passages": engine.index.n_live,
            "cold build s": round(time.perf_counter() - started, 1),
            "rounds": [],
        }
        store = open_feed_store(settings)
        url = f"http://127.0.0.1:{port}/feed"
        store.add(url, "Vindmark Post", "vindmark", timedelta(minutes=30), datetime.now(UTC))
        ingester = Ingester(store, corpus)

        async def one(n: int) -> dict[str, float]:
            items.put(n)
            await asyncio.to_thread(ports.get, True, 30)
            async with Fetcher(allow_private=True, limits=Limits(host_spacing=0.0)) as fetcher:
                t0 = time.perf_counter()
                now = datetime.now(UTC)
                await poll_due(store, fetcher, ingester, now, random.Random(n), every_feed=True)
            t1 = time.perf_counter()
            await asyncio.to_thread(engine.reindex)
            t2 = time.perf_counter()
            title, _, question = latency_item(n)
            hit = engine.ask(question).hits[0]
            assert hit.citation.title == title, hit.citation.title
            return {
                "poll s": round(t1 - t0, 2),
                "reindex s": round(t2 - t1, 2),
                "total s": round(t2 - t0, 2),
            }

        for n in range(rounds):
            result["rounds"].append(asyncio.run(one(n)))
        store.close()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("dups", "ingest", "latency"))
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, len(STORIES) + 1))
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--feeds", type=int, default=20)
    args = parser.parse_args()
    if args.what == "dups":
        run_dups()  # prints each result as it is ready
    elif args.what == "latency":
        print(json.dumps(run_latency(args.rounds), indent=2))
    else:
        print(json.dumps(run_ingest(args.articles, args.feeds), indent=2))


if __name__ == "__main__":
    main()
