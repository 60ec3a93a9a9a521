"""When two articles are one story: the same id (an update), or the same words (a copy).

`story_key` is what watches store for every article they fired on, and what "also reported by"
grouping can use: two texts that differ only in case, spacing, punctuation or quote marks (a
wire copy re-typeset by another site) get the same key.
"""

from __future__ import annotations

import hashlib
import re

_WORDS = re.compile(r"[^\W_]+")


def story_key(text: str) -> str:
    """A hash of the text's words, lowercased, in order; "" for a text with no words."""
    words = _WORDS.findall(text.lower())
    if not words:
        return ""
    return hashlib.sha1(" ".join(words).encode()).hexdigest()


def same_story(a_id: str, a_text: str, b_id: str, b_text: str) -> bool:
    """True when b is an update (same id) or a copy (same words) of a."""
    if a_id == b_id:
        return True
    key = story_key(a_text)
    return bool(key) and key == story_key(b_text)
