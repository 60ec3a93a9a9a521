"""Which item is which: item keys within a feed, and duplicate texts across feeds.

Near-duplicates (one wire story republished by several outlets) are found by the exact hash of
the normalised text, else by the Jaccard similarity of word 5-gram shingle sets against recent
articles. Candidates are those sharing one of a text's few smallest shingle hashes (a bottom-k
sketch): two texts with Jaccard ≥ 0.85 almost surely do, and unrelated texts almost never.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsbot.corpus.read import text_key
from newsbot.feeds.parse import FeedItem
from newsbot.feeds.urls import canonical

SHINGLE_WORDS = 5
JACCARD = 0.85
SKETCH = 8  # smallest shingle hashes under which a text is filed as a candidate
RECENT = 20_000  # texts kept as candidates
_WORD = re.compile(r"\w+")


def item_keys(items: Sequence[FeedItem]) -> list[str]:
    """A stable key per item: its GUID when unique in the feed, else its canonical link, else a
    hash of link, date and title. Short and file-name safe."""
    guids = Counter(i.guid for i in items if i.guid)
    keys = []
    for item in items:
        if item.guid and guids[item.guid] == 1:
            identity = "guid:" + item.guid
        elif item.link:
            identity = "url:" + canonical(item.link)
        else:
            when = item.published.isoformat() if item.published else ""
            identity = f"hash:{item.link}|{when}|{item.title}"
        keys.append(hashlib.sha1(identity.encode()).hexdigest()[:20])
    return keys


def shingles(text: str) -> np.ndarray:
    """The sorted, unique 64-bit hashes of the text's word 5-grams (lower-cased)."""
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        words = words + [""] * (SHINGLE_WORDS - len(words))
    grams = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}
    hashes = [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") for g in grams]
    return np.unique(np.array(hashes, dtype=np.uint64))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if not len(a) and not len(b):
        return 1.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


@dataclass(frozen=True)
class Fingerprint:
    """What duplicates are found by: the normalised-text hash and the shingle set."""

    key: str
    shingles: np.ndarray

    @classmethod
    def of(cls, text: str) -> Fingerprint:
        return cls(text_key(text), shingles(text))


@dataclass(frozen=True)
class Match:
    of: str  # the id of the copy already kept
    how: str  # "same text" or "near duplicate (Jaccard 0.91)"


class NearDuplicates:
    """Recent texts by id, to tell whether a new one repeats one of them."""

    def __init__(self, threshold: float = JACCARD, recent: int = RECENT) -> None:
        self.threshold = threshold
        self.recent = recent
        self._exact: dict[str, str] = {}
        self._prints: OrderedDict[str, Fingerprint] = OrderedDict()
        self._buckets: dict[int, set[str]] = {}

    def __len__(self) -> int:
        return len(self._prints)

    def find(self, fp: Fingerprint) -> Match | None:
        if fp.key in self._exact:
            return Match(self._exact[fp.key], "same text")
        best, best_score = None, 0.0
        candidates: set[str] = set()
        for h in fp.shingles[:SKETCH]:
            candidates |= self._buckets.get(int(h), set())
        for other in sorted(candidates):
            score = jaccard(fp.shingles, self._prints[other].shingles)
            if score > best_score:
                best, best_score = other, score
        if best is not None and best_score >= self.threshold:
            return Match(best, f"near duplicate (Jaccard {best_score:.2f})")
        return None

    def add(self, ident: str, fp: Fingerprint) -> None:
        self.discard(ident)
        self._exact.setdefault(fp.key, ident)
        self._prints[ident] = fp
        for h in fp.shingles[:SKETCH]:
            self._buckets.setdefault(int(h), set()).add(ident)
        while len(self._prints) > self.recent:
            self.discard(next(iter(self._prints)))

    def discard(self, ident: str) -> None:
        fp = self._prints.pop(ident, None)
        if fp is None:
            return
        if self._exact.get(fp.key) == ident:
            del self._exact[fp.key]
        for h in fp.shingles[:SKETCH]:
            bucket = self._buckets.get(int(h))
            if bucket is not None:
                bucket.discard(ident)
                if not bucket:
                    del self._buckets[int(h)]
