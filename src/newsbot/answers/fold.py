"""Syndicated copies and the count of matching articles, for what an answer shows around its quotes.

The same wire story often runs in several papers: passages whose distinct terms mostly coincide
(Jaccard similarity at least `SAME_STORY`) are one story, shown once with "also reported by".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from newsbot.index.store import Index

SAME_STORY = 0.7  # share of distinct terms two passages must share to count as one story


def fold(
    index: Index, found: list[tuple[int, float]], k: int, distinct: Callable[[int], set[int]] | None = None
) -> list[tuple[int, float, list[int]]]:
    """The first `k` distinct stories of `found` (best first): (passage, score, its copies).
    `distinct`: a passage's distinct term ids (default: read from the index)."""
    stories: list[tuple[int, float, list[int]]] = []
    terms: list[set[int]] = []
    for passage, score in found:
        mine = distinct(passage) if distinct else set(index.passage_terms(passage).tolist())
        for n, theirs in enumerate(terms):
            if len(mine & theirs) >= SAME_STORY * max(len(mine | theirs), 1):
                stories[n][2].append(passage)
                break
        else:
            if len(stories) < k:
                stories.append((passage, score, []))
                terms.append(mine)
    return stories


def matching_articles(index: Index, term_ids: list[int]) -> int:
    """Articles with a passage holding the question's rarest term: how many the question matches,
    counted from one (short) posting list."""
    if not term_ids:
        return 0
    rarest = min(term_ids, key=lambda t: int(index.df[t]))
    passages = [
        segment.inverted.passages(rarest).astype(np.int64) + segment.start
        for segment in index.segments
        if rarest < len(segment.inverted.indptr) - 1
    ]
    if not passages:
        return 0
    articles = np.asarray(index.passage_article)[np.concatenate(passages)]
    return len(np.unique(articles[articles >= 0]))
