"""Whether the best passages answer the question at all, or the bot should say "no match".

Six measures of the evidence, weighed by a logistic model fitted on the tuning questions of the
development set (`newsbot.quality.nomatch`, docs/quality.md, fourth round): how much of the
question's idf weight the best passage holds (the old rule alone), whether the two best passages
tell the same story, the best passage's BM25 over the question's best possible score, the best
sentence's share of the question, the lead of the best passage over the next, and how many of the
question's word pairs stand together in the best passage. The cut hides 5% of the tuning
questions' found answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import pairwise

from newsbot.index.store import Index
from newsbot.text.analyzer import Analyzer

PHRASE_SPAN = 2  # two question words count as a pair found when at most this far apart


@dataclass(frozen=True)
class Evidence:
    """What the best passages hold of the question (each in [0, 1])."""

    coverage: float  # share of the question's idf weight in the best passage (names as words)
    agreement: float  # Jaccard similarity of the distinct terms of the two best passages
    strength: float  # the best passage's BM25 over the question's best possible score
    sentence: float  # the best sentence's share of the question's weight
    lead: float  # (best score - second score) / best score, recency prior included
    phrase: float  # share of the question's adjacent word pairs found together in the best passage

    @property
    def values(self) -> tuple[float, ...]:
        return (self.coverage, self.agreement, self.strength, self.sentence, self.lead, self.phrase)


@dataclass(frozen=True)
class Model:
    """A logistic model over standardised `Evidence`: it matches when the best passage holds at
    least `floor` of the question's weight and the score is at least `cut` (a model fitted on one
    corpus never accepts a passage that holds under half of the question in another)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    cut: float
    floor: float = 0.0

    def score(self, evidence: Evidence) -> float:
        z = zip(self.weights, evidence.values, self.mean, self.scale, strict=True)
        return self.bias + sum(w * (v - m) / s for w, v, m, s in z)

    def matches(self, evidence: Evidence) -> bool:
        return evidence.coverage >= self.floor and self.score(evidence) >= self.cut


def phrase_share(
    analyzer: Analyzer,
    question_terms: Sequence[str],
    text: str,
    weights: dict[str, float],
    absent: AbstractSet[str] = frozenset(),
) -> float:
    """Share of the weight of the question's adjacent term pairs (a pair weighs its commoner
    term's idf) whose two terms stand at most PHRASE_SPAN words apart in `text`; a pair with an
    `absent` term (a name found only as another word's stem) is never found."""
    pairs = [(a, b) for a, b in pairwise(question_terms) if a != b]
    if not pairs:
        return 0.0
    where: dict[str, list[int]] = {}
    for i, t in enumerate(analyzer.terms(text)):
        where.setdefault(t, []).append(i)
    total = found = 0.0
    for a, b in pairs:
        w = min(weights.get(a, 0.0), weights.get(b, 0.0))
        total += w
        if a in absent or b in absent:
            continue
        near = set(where.get(b, ()))
        if any(i + d in near or i - d in near for i in where.get(a, ()) for d in range(1, PHRASE_SPAN + 1)):
            found += w
    return found / total if total else 0.0


def jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / max(len(a | b), 1)


def lead(scores: Sequence[float]) -> float:
    """How far the best score leads the second; 0 when there is no second (a lone passage in a
    small corpus proves nothing)."""
    if len(scores) < 2 or scores[0] <= 0:
        return 0.0
    return (scores[0] - scores[1]) / scores[0]


def measure(
    index: Index,
    analyzer: Analyzer,
    terms: Sequence[str],
    weights: dict[str, float],
    best: Sequence[tuple[int, float]],
    factor: float,
    coverage: float,
    sentence: float,
    distinct: Callable[[int], set[int]],
    text: str,
    absent: AbstractSet[str] = frozenset(),
) -> Evidence:
    """The evidence of the ranked passages `best` (best first, at least one; scores with the
    recency prior, `factor` being the best one's prior) for a question of `terms`. `distinct`: a
    passage's distinct term ids; `text`: the best passage's; `absent`: the question's name terms
    the best passage holds only as another word's stem."""
    top = best[0][0]
    possible = (index.params.k1 + 1) * sum(weights.get(t, 0.0) for t in terms)
    agreement = jaccard(distinct(top), distinct(best[1][0])) if len(best) > 1 else 0.0
    article = index.article_of(top)
    return Evidence(
        coverage=coverage,
        agreement=agreement,
        strength=best[0][1] / factor / possible if possible > 0 and factor > 0 else 0.0,
        sentence=sentence,
        lead=lead([s for _, s in best[:2]]),
        phrase=phrase_share(analyzer, terms, f"{article.title} . {text}", weights, absent),
    )
