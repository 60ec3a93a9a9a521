"""Feeds and article pages from bytes: feedparser for RSS/Atom, trafilatura for the article text.

Neither library is ever given a URL: they would fetch it themselves, past the guard and the limits.
"""

from __future__ import annotations

import calendar
import io
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.html
import trafilatura
from lxml.etree import ParserError

from newsbot.errors import NewsbotError

MIN_ARTICLE_WORDS = 80  # shorter extractions are teasers or menus, not the article
_BLOCK_END = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|/blockquote|/tr)\b[^>]*>", re.I)
_PAYWALL = re.compile(rb"[\"']isAccessibleForFree[\"']\s*:\s*[\"']?false", re.I)
_CANONICAL = "//link[translate(@rel,'CANONICAL','canonical')='canonical']/@href"


class BadFeed(NewsbotError):
    """Bytes that are not an RSS or Atom feed."""


@dataclass(frozen=True)
class FeedItem:
    guid: str | None
    link: str | None
    title: str
    published: datetime | None  # UTC; None when the feed gives no readable date
    text: str  # the feed's own content, else its summary, as plain text


@dataclass(frozen=True)
class Feed:
    title: str
    ttl: timedelta | None
    items: tuple[FeedItem, ...]


@dataclass(frozen=True)
class Page:
    """What an article page gave: its text (None when it is not the article) and canonical link."""

    text: str | None
    canonical: str | None
    teaser: bool = False  # a paywall or a page too short to be the article


def parse_feed(body: bytes, content_type: str | None = None) -> Feed:
    """RSS 0.9x/1.0/2.0 or Atom from bytes; BadFeed when it is neither, even loosely."""
    headers = {"content-type": content_type} if content_type else {}
    parsed: Any = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=True)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        raise BadFeed(f"This is not an RSS or Atom feed ({reason or 'no feed elements'}).")
    items = tuple(_item(e) for e in parsed.entries)
    ttl = str(parsed.feed.get("ttl", "")).strip()
    return Feed(
        title=" ".join(str(parsed.feed.get("title", "")).split()),
        ttl=timedelta(minutes=int(ttl)) if ttl.isdigit() else None,
        items=items,
    )


def _item(entry: Any) -> FeedItem:
    content = entry.get("content") or []
    html = content[0].get("value", "") if content else ""
    summary = entry.get("summary", "")
    text = html_to_text(html if len(html) >= len(summary) else summary)
    guid = str(entry.get("id") or "").strip() or None
    link = str(entry.get("link") or "").strip() or None
    return FeedItem(guid, link, " ".join(str(entry.get("title", "")).split()), _when(entry), text)


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = dict.get(entry, key)  # plain lookup: feedparser's mapping of missing keys warns
        if isinstance(value, time.struct_time):
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment, one paragraph a block."""
    if "<" not in html and "&" not in html:
        return html.strip()
    try:
        root = lxml.html.fragment_fromstring(_BLOCK_END.sub("\n\n", html), create_parent="div")
    except (ParserError, ValueError):
        return html.strip()
    paragraphs = (" ".join(p.split()) for p in root.text_content().split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def parse_page(body: bytes, url: str) -> Page:
    """The main text of an article page (comments excluded) and its `<link rel=canonical>`."""
    canonical = None
    try:
        tree = lxml.html.document_fromstring(body)
        links = tree.xpath(_CANONICAL)
        href = str(links[0]).strip() if links else ""
        canonical = urljoin(url, href) if href else None
    except (ParserError, ValueError):
        return Page(None, None)
    text = trafilatura.extract(body, url=url, include_comments=False, include_tables=False)
    teaser = bool(_PAYWALL.search(body)) or not text or len(text.split()) < MIN_ARTICLE_WORDS
    return Page(None if teaser else text, canonical, teaser)
