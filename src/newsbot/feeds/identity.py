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
from datetime import datetime, timedelta

import numpy as np

from newsbot.corpus.dedupe import text_key
from newsbot.feeds.parse import FeedItem
from newsbot.feeds.urls import canonical

SHINGLE_WORDS = 5
JACCARD = 0.85
SKETCH = 8  # smallest shingle hashes under which a text is filed as a candidate
WINDOW = timedelta(days=3)  # near-duplicates further apart in time are updates, kept apart
RECENT = 5_000  # texts kept as candidates (a set is ~8 bytes a word: ~35 MB for 5,000 articles)
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
    """The sorted, unique 64-bit hashes of the text's word 5-grams (lower-cased).

    Each distinct word is hashed once (blake2b: stable across processes, so the sets can be
    stored); a 5-gram's hash is a polynomial of its words' hashes, computed for all at once.
    """
    words = _WORD.findall(text.lower())
    words += [""] * max(0, SHINGLE_WORDS - len(words))
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(w, len(vocab)) for w in words), dtype=np.int64, count=len(words))
    table = np.array([_word_hash(w) for w in vocab], dtype=np.uint64)
    hashed = table[ids]
    n = len(words) - SHINGLE_WORDS + 1
    out = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(SHINGLE_WORDS):
            out = out * _MIX + hashed[j : j + n]  # wraps modulo 2**64, as intended
    return np.unique(out)


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


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

    def __init__(
        self, threshold: float = JACCARD, recent: int = RECENT, window: timedelta | None = WINDOW
    ) -> None:
        """`window`: how far apart in time (article dates) two near-duplicates may be; None: any.
        Exact copies of a text are folded whatever their dates: they carry nothing new."""
        self.threshold = threshold
        self.recent = recent
        self.window = window
        self._dates: dict[str, datetime | None] = {}
        self._exact: dict[str, str] = {}
        self._prints: OrderedDict[str, Fingerprint] = OrderedDict()
        self._buckets: dict[int, set[str]] = {}

    def __len__(self) -> int:
        return len(self._prints)

    def find(self, fp: Fingerprint, when: datetime | None = None) -> Match | None:
        """The text `fp` repeats: the same normalised text, else the most similar candidate dated
        within the window at or above the threshold."""
        if fp.key in self._exact:
            return Match(self._exact[fp.key], "same text")
        best = self.closest(fp, when)
        if best is not None and best[1] >= self.threshold:
            return Match(best[0], f"near duplicate (Jaccard {best[1]:.2f})")
        return None

    def closest(self, fp: Fingerprint, when: datetime | None = None) -> tuple[str, float] | None:
        """The candidate most similar to `fp` and its Jaccard similarity (None: no candidate)."""
        candidates: set[str] = set()
        for h in fp.shingles[:SKETCH]:
            candidates |= self._buckets.get(int(h), set())
        best: tuple[str, float] | None = None
        for other in sorted(candidates):
            if not self._near_in_time(when, self._dates.get(other)):
                continue
            score = jaccard(fp.shingles, self._prints[other].shingles)
            if best is None or score > best[1]:
                best = (other, score)
        return best

    def _near_in_time(self, when: datetime | None, then: datetime | None) -> bool:
        if self.window is None or when is None or then is None:
            return True
        return abs(when - then) <= self.window

    def add(self, ident: str, fp: Fingerprint, when: datetime | None = None) -> None:
        self.discard(ident)
        self._exact.setdefault(fp.key, ident)
        self._prints[ident] = fp
        self._dates[ident] = when
        for h in fp.shingles[:SKETCH]:
            self._buckets.setdefault(int(h), set()).add(ident)
        while len(self._prints) > self.recent:
            self.discard(next(iter(self._prints)))

    def discard(self, ident: str) -> None:
        fp = self._prints.pop(ident, None)
        if fp is None:
            return
        del self._dates[ident]
        if self._exact.get(fp.key) == ident:
            del self._exact[fp.key]
        for h in fp.shingles[:SKETCH]:
            bucket = self._buckets.get(int(h))
            if bucket is not None:
                bucket.discard(ident)
                if not bucket:
                    del self._buckets[int(h)]
