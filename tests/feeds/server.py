"""A local feed server for the tests and the benchmark: aiohttp on 127.0.0.1, a random port.

Tests put handlers on paths (`server.routes["/feed"] = handler`) and read back what was asked
(`server.requests`). Builders write RSS 2.0, Atom and article pages; `sample_articles` takes real
articles from ../shared/data/realtimeqa when present (read by path, never copied), else fixtures.
"""

from __future__ import annotations

import asyncio
import gzip
import html
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_ROOT = Path(__file__).resolve().parents[2]
# ../shared/data beside the checkout, or two levels up from a worktree (/work/wt/<name>).
SHARED_DATA = next(
    (p / "shared" / "data" for p in (_ROOT.parent, _ROOT.parent.parent) if (p / "shared" / "data").is_dir()),
    _ROOT.parent / "shared" / "data",
)
REALTIMEQA = SHARED_DATA / "realtimeqa" / "articles.jsonl.gz"


@dataclass(frozen=True)
class Item:
    title: str
    text: str
    link: str | None = None
    guid: str | None = None
    date: datetime | None = None
    summary: str | None = None  # what the feed says about it (default: the first 40 words)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival


@dataclass
class FeedServer:
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    port: int = 0
    _runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    async def start(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Seen(request.path_qs, dict(request.headers), time.monotonic()))
        handler = self.routes.get(request.path_qs) or self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="not found")
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await handler(request)
        finally:
            self.in_flight -= 1

    # Handlers

    def serve(self, path: str, body: bytes | str, status: int = 200, **headers: str) -> None:
        data = body.encode() if isinstance(body, str) else body

        async def handler(request: web.Request) -> web.Response:
            return web.Response(body=data, status=status, headers=headers)

        self.routes[path] = handler


class ThreadedServer:
    """The same server on a loop in a thread, for code that runs its own event loop (the CLI)."""

    def __init__(self) -> None:
        self.server = FeedServer()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> FeedServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def _summary(item: Item) -> str:
    return item.summary if item.summary is not None else " ".join(item.text.split()[:40])


def rss(
    items: list[Item], title: str = "Test Wire", ttl: int | None = None, encoding: str = "utf-8"
) -> bytes:
    """An RSS 2.0 document."""
    parts = [f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>']
    parts.append(f"<title>{html.escape(title)}</title><link>http://example.org/</link>")
    if ttl is not None:
        parts.append(f"<ttl>{ttl}</ttl>")
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{html.escape(item.title)}</title>")
        if item.link:
            parts.append(f"<link>{html.escape(item.link)}</link>")
        if item.guid:
            parts.append(f'<guid isPermaLink="false">{html.escape(item.guid)}</guid>')
        if item.date:
            parts.append(f"<pubDate>{format_datetime(item.date, usegmt=True)}</pubDate>")
        parts.append(f"<description>{html.escape(_summary(item))}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode(encoding, "xmlcharrefreplace")


def atom(items: list[Item], title: str = "Test Atom") -> bytes:
    """An Atom 1.0 document, with the full text as content."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">']
    parts.append(f"<title>{html.escape(title)}</title><id>urn:test:feed</id>")
    parts.append("<updated>2024-01-01T00:00:00Z</updated>")
    for item in items:
        parts.append(f"<entry><title>{html.escape(item.title)}</title>")
        parts.append(f"<id>{html.escape(item.guid or item.link or item.title)}</id>")
        if item.link:
            parts.append(f'<link rel="alternate" href="{html.escape(item.link)}"/>')
        if item.date:
            parts.append(f"<updated>{item.date.astimezone(UTC).isoformat()}</updated>")
        parts.append(f'<summary type="text">{html.escape(_summary(item))}</summary>')
        body = "".join(f"<p>{html.escape(p)}</p>" for p in item.text.split("\n\n"))
        parts.append(f'<content type="html">{html.escape(body)}</content></entry>')
    parts.append("</feed>")
    return "".join(parts).encode()


def page(title: str, text: str, canonical: str | None = None, paywall: bool = False) -> bytes:
    """An article page as news sites write them: navigation, the article, a footer."""
    link = f'<link rel="canonical" href="{html.escape(canonical)}">' if canonical else ""
    ld = '<script type="application/ld+json">{"isAccessibleForFree": false}</script>' if paywall else ""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>\n" for p in text.split("\n\n") if p.strip())
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{link}{ld}"
        "</head><body><nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/sport'>Sport</a></nav>"
        f"<article><h1>{html.escape(title)}</h1>\n{paragraphs}</article>"
        "<footer>© Test News. All rights reserved. <a href='/privacy'>Privacy</a></footer></body></html>"
    ).encode()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9)


# Made-up articles (written for these tests), long enough for the extractor to keep them.
FIXTURES = [
    Item(
        title=f"Council {name} approves new {thing}",
        text="\n\n".join(
            f"The {name} council voted on {day} to approve a new {thing}, paragraph {n} of the report "
            f"said, after months of debate about its cost and the {n * 7} objections residents sent in. "
            f"Officials said work on the {thing} would start within {n + 2} weeks."
            for n in range(1, 6)
        ),
        date=datetime(2024, 3, i + 1, 9, 30, tzinfo=UTC),
    )
    for i, (name, thing, day) in enumerate(
        [
            ("Lindqvist", "tram line", "Monday"),
            ("Marlow", "library", "Tuesday"),
            ("Harwick", "sea wall", "Wednesday"),
            ("Oakridge", "bus depot", "Thursday"),
        ]
    )
]


def sample_articles(limit: int) -> Iterator[Item]:
    """Real articles (title, text, date) from realtimeqa when present, else the fixtures."""
    if not REALTIMEQA.is_file():
        yield from FIXTURES[:limit]
        return
    count = 0
    with gzip.open(REALTIMEQA, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if not row.get("title") or len(row.get("text", "").split()) < 150:
                continue
            when = datetime.fromisoformat(row["date"]).replace(tzinfo=UTC) if row.get("date") else None
            yield Item(row["title"], row["text"], guid=row["id"], date=when)
            count += 1
            if count >= limit:
                return
