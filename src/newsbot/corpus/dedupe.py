"""Telling articles apart: what changed (`content_hash`) and which texts repeat (`text_key`,
`dedupe`): a corpus gathered from feeds and exports holds the same story more than once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import date

import numpy as np

from newsbot.records import Article, Skipped

# Byte tables for `text_key`, which works on UTF-8 bytes: there an ASCII byte is always that ASCII
# character, so a per-byte table is exact and much faster than str.split.
_ASCII = bytes(range(128))
_ASCII_SPACES = bytes(b for b in range(128) if chr(b).isspace())  # as str.split: \x1c-\x1f too
_TO_BLANK = bytes.maketrans(_ASCII_SPACES, b" " * len(_ASCII_SPACES))


def content_hash(article: Article) -> str:
    """A hash of everything an answer shows, so a reindex can skip unchanged articles."""
    return hash_of(article.title, article.text, article.source, article.url, article.author, article.date)


def hash_of(
    title: str, text: str, source: str | None, url: str | None, author: str | None, day: date | None
) -> str:
    """`content_hash` of an article with these fields (a reader makes the article with it)."""
    fields = [title, text, source, url, author, day.isoformat() if day else None]
    return hashlib.sha1(json.dumps(fields).encode()).hexdigest()


def text_key(text: str, utf8: bytes | None = None) -> str:
    """A key under which two copies of the same text collide (case and spacing ignored);
    `utf8`: the text in UTF-8, when at hand.

    It is the sha1 of `" ".join(text.lower().split())`, computed on the UTF-8 bytes: splitting a
    long text into words and lowering it character by character was the slowest part of reading.
    """
    data = text.encode() if utf8 is None else utf8
    others = data.translate(None, _ASCII).decode()  # the non-ASCII characters, usually few
    if others.lower() == others:
        data = data.lower()  # only ASCII letters change case: bytes.lower does exactly that
    else:
        data = text.lower().encode()
        others = data.translate(None, _ASCII).decode()
    for space in [c for c in set(others) if c.isspace()]:  # no-break space and the like
        data = data.replace(space.encode(), b" ")
    chars = np.frombuffer(data.translate(_TO_BLANK), np.uint8)
    blank = chars == ord(" ")
    keep = ~blank
    keep[1:] |= ~blank[:-1]  # the first blank of a run
    return hashlib.sha1(chars[keep].tobytes().strip(b" ")).hexdigest()


def dedupe(articles: Iterable[Article]) -> tuple[list[Article], list[Skipped]]:
    """Drop repeated texts; give a clashing id (different text) a suffix."""
    articles = list(articles)
    kept, notes = dedupe_keys((a.id, a.path, a.text_hash or text_key(a.text)) for a in articles)
    return [articles[n] if articles[n].id == i else replace(articles[n], id=i) for n, i in kept], notes


def dedupe_keys(keys: Iterable[tuple[str, str | None, str]]) -> tuple[list[tuple[int, str]], list[Skipped]]:
    """`dedupe` on (id, path, text key) triples: the (position, id) of each kept one, its id
    suffixed when an earlier one has it; a reindex dedupes the articles of unchanged files
    without parsing them."""
    seen = Deduper()
    kept: list[tuple[int, str]] = []
    for n, (id_, path, key) in enumerate(keys):
        taken = seen.take(id_, path, key)
        if taken is not None:
            kept.append((n, taken))
    return kept, seen.notes


class Deduper:
    """`dedupe_keys` one article at a time, in corpus order (a cold build dedupes as it reads)."""

    def __init__(self) -> None:
        self.seen_text: dict[str, str] = {}
        self.seen_id: set[str] = set()
        self.notes: list[Skipped] = []

    def take(self, id_: str, path: str | None, key: str) -> str | None:
        """The id the article is kept under (suffixed when an earlier one has it), or None when
        it repeats an earlier one's text; either is noted."""
        where = f"{path} [{id_}]" if path else id_
        if key in self.seen_text:
            self.notes.append(Skipped(where, f"duplicate text of article {self.seen_text[key]}"))
            return None
        if id_ in self.seen_id:
            i = 2
            while f"{id_}~{i}" in self.seen_id:
                i += 1
            self.notes.append(Skipped(where, f"duplicate id {id_}: renamed {id_}~{i}", True))
            id_ = f"{id_}~{i}"
        self.seen_text[key] = id_
        self.seen_id.add(id_)
        return id_
