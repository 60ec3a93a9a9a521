"""When two articles are one story: the same id (an update), the same words (a re-typeset copy),
or nearly the same text (a wire copy with another byline, header or footer).

Watches store, for every article they fired on, its `story_key` and its `sketch`; "also reported
by" grouping can use `same_story` the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from newsbot.records import Article

_WORDS = re.compile(r"[^\W_]+")
SHINGLE_WORDS = 4  # a text is the set of its runs of 4 words
SKETCH_SIZE = 64  # the smallest hashes of those runs kept: a bottom-k MinHash sketch
NEAR_DUPLICATE = 0.6  # estimated resemblance (Jaccard of the runs) from which two texts are one story


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def story_key(text: str) -> str:
    """A hash of the text's words, lowercased, in order; "" for a text with no words. Copies that
    differ only in case, spacing, punctuation or quote marks share it."""
    words = _words(text)
    if not words:
        return ""
    return hashlib.sha1(" ".join(words).encode()).hexdigest()


def sketch(text: str) -> tuple[int, ...]:
    """The `SKETCH_SIZE` smallest 64-bit hashes of the text's 4-word runs, ascending (all of them
    for a short text; () for a text with no words)."""
    words = _words(text)
    if not words:
        return ()
    size = min(SHINGLE_WORDS, len(words))
    runs = {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}
    hashes = {int.from_bytes(hashlib.blake2b(r.encode(), digest_size=8).digest(), "big") for r in runs}
    return tuple(sorted(hashes)[:SKETCH_SIZE])


def resemblance(a: Sequence[int], b: Sequence[int]) -> float:
    """The share of 4-word runs two texts have in common (Jaccard), estimated from their sketches:
    among the smallest hashes of both together, the share found in both."""
    if not a or not b:
        return 0.0
    union = sorted(set(a) | set(b))[:SKETCH_SIZE]
    first, second = set(a), set(b)
    return sum(1 for h in union if h in first and h in second) / len(union)


def same_story(a: Article, b: Article) -> bool:
    """True when b is an update (same id) or a copy (same or nearly the same text) of a."""
    if a.id == b.id:
        return True
    key = story_key(a.text)
    if key and key == story_key(b.text):
        return True
    return resemblance(sketch(a.text), sketch(b.text)) >= NEAR_DUPLICATE
