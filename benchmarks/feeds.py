"""Feed ingestion: the near-duplicate rule on real duplicates, and ingest throughput.

    python -m benchmarks.feeds dups               # realtimeqa and BBC from ../shared/data
    python -m benchmarks.feeds ingest --articles 2000 --feeds 20

`dups` runs the rule of `newsbot.feeds.identity` over every article in order and compares what
it folds with the duplicates the data sets mark (realtimeqa: the same normalised text; BBC:
`duplicate_of`). `ingest` serves real article pages (realtimeqa, else the test fixtures) from
the local test server in another process and times polling, fetching, extracting and writing
them, with a host spacing of 0 (the default 1 s would measure the politeness, not newsbot).
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from newsbot.corpus.read import text_key
from newsbot.feeds.fetch import Fetcher, Limits
from newsbot.feeds.identity import JACCARD, WINDOW, Fingerprint, NearDuplicates
from newsbot.feeds.ingest import Ingester
from newsbot.feeds.poller import poll_due
from newsbot.feeds.store import FeedStore
from tests.feeds.server import SHARED_DATA, FeedServer, Item, page, rss, sample_articles

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
    store = FeedStore(folder / "feeds.sqlite3")
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("dups", "ingest"))
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--feeds", type=int, default=20)
    args = parser.parse_args()
    if args.what == "dups":
        run_dups()  # prints each result as it is ready
    else:
        print(json.dumps(run_ingest(args.articles, args.feeds), indent=2))


if __name__ == "__main__":
    main()
