"""A second passage of the best article, quoted under its best one.

An article is split into passages of about 300 words, and the passage that ranks best is often
the one that restates the question (the lead, the headline's words), while the answer sits a
passage further on. So the best article's other passage holding the most of the question's idf
weight (at least `SECOND_MIN`) is quoted too. Its sentences do not compete for the headline:
letting them lowered the answer in the headline on the held-out questions (docs/quality.md, fifth
round of issue 14).
"""

from __future__ import annotations

from collections.abc import Callable

from newsbot.answers.ranking import coverage
from newsbot.index.store import Index

SECOND_MIN = 0.3  # share of the question's idf weight the second passage must hold (above 1: off)


def second_passage(
    index: Index,
    passage: int,
    weights: dict[str, float],
    names: dict[str, frozenset[str]],
    distinct: Callable[[int], set[int]],
) -> int | None:
    """The other passage of `passage`'s article that holds the largest share of the question's
    weight (`ranking.coverage`, names as words; the earlier one on a tie), None when none holds
    `SECOND_MIN`. `distinct`: a passage's distinct term ids."""
    article = int(index.passage_article[passage])
    if article < 0 or SECOND_MIN > 1:
        return None
    total = sum(weights.values()) or 1.0
    ids = [(index.vocab.get(t), w) for t, w in weights.items()]
    bounds = []  # the share with names matched by stem, read from the terms alone: at least the share
    for other in range(int(index.article_start[article]), int(index.article_end[article])):
        if other != passage and int(index.passage_article[other]) == article:
            present = distinct(other)
            bound = sum(w for t, w in ids if t in present) / total
            if bound >= SECOND_MIN:
                bounds.append((-bound, other))
    best, held = None, 0.0
    for bound, other in sorted(bounds):  # most first, then the earlier passage
        if -bound < held:
            break  # neither this one nor any after can hold more
        share = coverage(index, other, weights, names, distinct(other)) if names else -bound
        if share >= SECOND_MIN and (share > held or (share == held and best is not None and other < best)):
            best, held = other, share
    return best
