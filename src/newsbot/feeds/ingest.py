"""Feed items into the corpus, as ordinary article files (`feeds/<feed-slug>/<key>.md`; a server's
own feed under that server's folder, `guilds/<id>/feeds/<feed-slug>/<key>.md`, so the index answers
its articles in that server only).

A person can read, back up or delete them, and they reach the index through the same incremental
reindex as any other file. An item seen before with the same content costs nothing; with new
content it rewrites its own file, so the reindex replaces its passages instead of adding more.
The same article from another feed (same canonical URL), or the same story republished (same or
nearly the same text), is not written again: the item is recorded as "also reported by".
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path, PurePosixPath

from newsbot.corpus.scope import GUILDS, Scope
from newsbot.errors import NewsbotError
from newsbot.feeds.fetch import Fetcher
from newsbot.feeds.identity import Fingerprint, NearDuplicates, item_keys
from newsbot.feeds.parse import Feed, FeedItem, Page, parse_page
from newsbot.feeds.store import FeedRecord, FeedStore, ItemRecord
from newsbot.feeds.urls import canonical, clean, same_site

FOLDER = "feeds"  # under the corpus root
PAGE_CONCURRENCY = 4


@dataclass(frozen=True)
class Changes:
    """What one poll did to the corpus."""

    added: tuple[str, ...] = ()  # corpus paths written for the first time
    updated: tuple[str, ...] = ()  # rewritten with new text
    folded: int = 0  # items that repeat an article already in the corpus
    unchanged: int = 0
    from_summary: int = 0  # of added + updated: the feed's own text, not the page's

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)


NO_CHANGES = Changes()


def feed_folder(feed: FeedRecord) -> str:
    """Where a feed's articles go, relative to the corpus root: its owner's folder (`Scope`)."""
    if feed.owner_guild_id is None:
        return f"{FOLDER}/{feed.slug}"
    return str(PurePosixPath(GUILDS, str(feed.owner_guild_id), FOLDER, feed.slug))


@dataclass(frozen=True)
class _Text:
    text: str
    url: str | None  # canonical: what copies are found by
    link: str | None  # what the article file links to
    from_summary: bool


class Ingester:
    """Writes feed items into the corpus; one per process (it holds the recent-texts index)."""

    def __init__(self, store: FeedStore, corpus_dir: Path, dups: NearDuplicates | None = None) -> None:
        self.store = store
        self.corpus_dir = corpus_dir
        self.dups = dups or NearDuplicates()
        for path, key, sets, when in store.recent_texts(self.dups.recent):
            self.dups.add(path, Fingerprint(key, sets), when)

    async def ingest(self, feed: FeedRecord, parsed: Feed, fetcher: Fetcher | None, now: datetime) -> Changes:
        """Bring the corpus up to date with the items of one fetched feed.

        `fetcher` None: no article pages are fetched, the feed's own text is used.
        """
        todo: list[tuple[str, FeedItem, ItemRecord | None, str]] = []
        unchanged = 0
        seen: set[str] = set()
        for key, item in zip(item_keys(parsed.items), parsed.items, strict=True):
            if key in seen:  # the same link twice under a repeated GUID: one article
                unchanged += 1
                continue
            seen.add(key)
            old = self.store.item(feed.id, key)
            digest = _item_hash(item)
            if old is not None and old.item_hash == digest:
                unchanged += 1
            else:
                todo.append((key, item, old, digest))
        limit = asyncio.Semaphore(PAGE_CONCURRENCY)

        async def text_of(item: FeedItem) -> _Text:
            async with limit:
                return await _article_text(item, fetcher)

        texts = await asyncio.gather(*(text_of(item) for _, item, _, _ in todo))
        added: list[str] = []
        updated: list[str] = []
        folded = from_summary = 0
        for (key, item, old, digest), got in zip(todo, texts, strict=True):
            when = min(item.published or (old.published if old else now), now)  # future dates clamped
            record = ItemRecord(
                feed.id, key, got.url, item.title or "(untitled)", digest, None, None, None,
                got.from_summary, when, old.first_seen if old else now, now,
            )  # fmt: skip
            if not got.text.strip():
                self.store.put_item(_with(record, how="no text in the feed or on the page"))
                continue
            fp = Fingerprint.of(got.text)
            own = old.path if old is not None and old.duplicate_of is None else None
            if own is None:
                match = self._duplicate(got.url, fp, when, Scope(feed.owner_guild_id))
                if match is not None:
                    self.store.put_item(_with(record, path=match[0], duplicate_of=match[0], how=match[1]))
                    folded += 1
                    continue
            path = own or f"{feed_folder(feed)}/{key}.md"
            wrote = self._write(path, feed, item, got, when)
            self.store.put_text(path, got.url, fp.key, fp.shingles, now, when)
            self.dups.add(path, fp, when)
            self.store.put_item(_with(record, path=path))
            if not wrote:
                unchanged += 1  # a new item hash, the same file (say, a feed-only edit of the summary)
                continue
            (updated if own else added).append(path)
            from_summary += got.from_summary
        return Changes(tuple(added), tuple(updated), folded, unchanged, from_summary)

    def _duplicate(
        self, url: str | None, fp: Fingerprint, when: datetime, owner: Scope
    ) -> tuple[str, str] | None:
        """The article this text repeats, among those the feed's owner sees: a server's feed may
        fold into the operator's articles, never the other way, nor into another server's."""
        if url is not None and (path := self.store.text_at_url(url)) is not None and owner.sees(path):
            return path, "same link"
        match = self.dups.find(fp, when)
        return (match.of, match.how) if match and owner.sees(match.of) else None

    def _write(self, path: str, feed: FeedRecord, item: FeedItem, got: _Text, when: datetime) -> bool:
        """Write the article file; False when it already holds exactly this (no reindex needed)."""
        target = self.corpus_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        front = {
            "title": item.title or "(untitled)",
            "date": when.isoformat(),
            "source": feed.name,
            "url": got.link or "",
            "extraction": "feed summary" if got.from_summary else "page",
        }
        head = "".join(f"{k}: {' '.join(v.split())}\n" for k, v in front.items())
        data = f"---\n{head}---\n{got.text.strip()}\n".encode()
        if target.is_file() and target.read_bytes() == data:
            return False
        temp = target.with_name(f".{target.name}.tmp")  # hidden: the corpus scan skips it
        temp.write_bytes(data)
        os.replace(temp, target)
        return True


def _with(record: ItemRecord, **values: object) -> ItemRecord:
    return replace(record, **values)  # type: ignore[arg-type]


def _item_hash(item: FeedItem) -> str:
    when = item.published.isoformat() if item.published else ""
    return hashlib.sha1("\x1f".join((item.title, item.link or "", when, item.text)).encode()).hexdigest()


async def _article_text(item: FeedItem, fetcher: Fetcher | None) -> _Text:
    """The page's main text when it can be had, else the feed's own text (marked so)."""
    fallback = _Text(
        _without_title(item.text, item.title),
        canonical(item.link) if item.link else None,
        clean(item.link) if item.link else None,
        True,
    )
    if fetcher is None or not item.link:
        return fallback
    try:
        if not await fetcher.allowed(item.link):
            return fallback
        resp = await fetcher.get(item.link, max_bytes=fetcher.limits.page_bytes)
    except NewsbotError:
        return fallback
    if resp.status != 200:
        return fallback
    page: Page = await asyncio.to_thread(parse_page, resp.body, resp.url)
    found = page.canonical if page.canonical and same_site(page.canonical, resp.url) else resp.url
    if page.text is None or len(page.text) < len(item.text):
        return replace(fallback, url=canonical(found), link=clean(found))
    return _Text(_without_title(page.text, item.title), canonical(found), clean(found), False)


def _without_title(text: str, title: str) -> str:
    """The text without a first line that only repeats the title (the index adds the title anyway)."""
    first, _, rest = text.strip().partition("\n")
    return rest.strip() if rest.strip() and " ".join(first.split()) == " ".join(title.split()) else text
