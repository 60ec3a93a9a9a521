"""Snippets and the headline: which sentences of the shown passages to quote, words marked.

The headline (the best sentence, shown first) should hold the answer, not restate the question:
a sentence scores by the share of the question's idf weight it holds, more when it also holds what
the question asks for (`cues.py`: a name, a date, a number, a place) and when the new names it
brings recur in the other shown passages (several reports naming the same answer). A sentence
that is itself a question, or that only restates the question, is never the headline. Each
snippet is centred on its passage's best sentence by the same score. Measured in docs/quality.md.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from newsbot.answers.cues import (
    Kind,
    asked_part,
    candidates,
    capitalised,
    full_name_words,
    holds,
    question_kind,
)
from newsbot.records import Snippet
from newsbot.text.analyzer import Analyzer
from newsbot.text.sentences import split_sentences

SNIPPET_CHARS = 480  # about 80 words a passage: measured against 360 and 600 in docs/quality.md
CUE_BONUS = 0.5  # a sentence holding the kind of answer asked for
SUPPORT_BONUS = 0.25  # per other shown passage naming one of its new names (at most 2)
RANK_STEP = 0.05  # a sentence of the n-th shown passage counts (1 - n * RANK_STEP)
MIN_NEW_TERMS = 2  # fewer terms the question lacks: the sentence only restates the question
VOTE = 1.0  # a sentence holding the most voted possible answer counts up to (1 + VOTE) times
COVER_POWER = 1.0  # below 1: the question's weight matters less against the answer's cues
FOCUS = 1.0  # extra weight of the terms of the question proper, after any preamble
# A sentence naming the voted answer only in part ("James", "the Lions") where another shown
# sentence names it in full ("LeBron James", "Detroit Lions") gets this share of the vote.
PARTIAL_NAME = 0.7
# The shown articles' titles vote too (never headlines): a title names what its report is about, so
# a name in the titles of the reports that hold the question is likelier the answer. A title's
# vote is its share of the question, with the cue, times this.
TITLE_VOTE = 2.0
_URL = re.compile(r"https?://\S+")  # no word inside a link is marked: it would break it


@dataclass(frozen=True)
class Asked:
    """What the sentence scores need to know about the question."""

    weights: dict[str, float]  # question term -> idf, times 1 + FOCUS in the question proper
    kind: Kind
    words: frozenset[str]  # the question's lowercased words

    @staticmethod
    def of(question: str, analyzer: Analyzer, weights: dict[str, float]) -> Asked:
        focus = set(analyzer.terms(asked_part(question)))
        focused = {t: w * (1 + FOCUS * (t in focus)) for t, w in weights.items()}
        return Asked(focused, question_kind(question), frozenset(analyzer.tokens(question)))


@dataclass(frozen=True)
class Sentence:
    """One sentence of a shown passage and what it holds for the question."""

    text: str
    covered: float  # share of the question's idf weight it holds
    new_terms: int  # distinct terms the question lacks
    names: frozenset[str]  # capitalised words the question lacks
    answers: frozenset[str]  # its words that could be the answer (names, numbers or dates)
    cue: bool  # it holds the kind of answer asked for
    asks: bool  # it is itself a question
    full: frozenset[str] = frozenset()  # its words inside a name of several capitalised words

    @property
    def restates(self) -> bool:
        return self.asks or self.new_terms < MIN_NEW_TERMS


Scored = list[Sentence]  # a passage's sentences, in order


def is_question(sentence: str) -> bool:
    """Whether a sentence is itself a question (ends with "?", closing quotes aside)."""
    return sentence.rstrip().rstrip("\"'”’)]").endswith("?")


def sentence(text: str, analyzer: Analyzer, asked: Asked) -> Sentence:
    terms = set(analyzer.terms(text))  # chunk-cached: far cheaper than `spans`
    found = terms & asked.weights.keys()
    total = sum(asked.weights.values()) or 1.0
    names = frozenset(w for w in capitalised(text, analyzer.stopwords) if w not in asked.words)
    return Sentence(
        text=text,
        covered=sum(asked.weights[t] for t in found) / total,
        new_terms=len(terms - found),
        names=names,
        answers=candidates(asked.kind, text, names),
        cue=holds(asked.kind, text, set(names)),
        asks=is_question(text),
        full=full_name_words(text, analyzer.stopwords),
    )


def scored(text: str, analyzer: Analyzer, asked: Asked) -> Scored:
    """A passage's sentences, analysed once for its snippet and the headline."""
    return [sentence(s, analyzer, asked) for s in split_sentences(text) or [text]]


def score(s: Sentence, support: int = 0) -> float:
    """How well a sentence answers: the question's weight it holds, more with the answer's cues,
    a little less when long; 0 for a question or a restatement."""
    if s.restates or s.covered <= 0:
        return 0.0
    bonus = (1 + CUE_BONUS * s.cue) * (1 + SUPPORT_BONUS * min(support, 2))
    return float(s.covered**COVER_POWER) * bonus / (1 + len(s.text) / 2000)


def _support(passages: Sequence[Scored]) -> list[Counter[str]]:
    """For each passage, how many *other* shown passages mention each name."""
    per = [frozenset().union(*(s.names for s in p)) if p else frozenset() for p in passages]
    total = Counter(name for names in per for name in names)
    return [Counter({n: total[n] - 1 for n in names if total[n] > 1}) for names in per]


def ranked(passages: Sequence[Scored], titles: Sequence[Sentence] = ()) -> list[list[float]]:
    """Every sentence's headline score, per passage (rank discount included).

    Then the vote: every possible answer word gets the scores of the sentences holding it, and a
    sentence holding the most voted one counts up to (1 + VOTE) times: several sentences naming
    the same answer beside the question's words agree on it. `titles` (the passages' articles'
    titles, in the same order) vote too, by TITLE_VOTE. A sentence naming the answer only in
    part, where another names it in full, gets PARTIAL_NAME of its share: the headline names the
    answer as the reports do."""
    support = _support(passages)
    out = []
    votes: dict[str, float] = {}
    for n, (sentences, others) in enumerate(zip(passages, support, strict=True)):
        factor = 1 - RANK_STEP * n
        values = [score(s, max((others[x] for x in s.names), default=0)) * factor for s in sentences]
        for s, value in zip(sentences, values, strict=True):
            for word in s.answers:
                votes[word] = votes.get(word, 0.0) + value
        out.append(values)
    for n, title in enumerate(titles):
        value = TITLE_VOTE * title.covered * (1 + CUE_BONUS * title.cue) * (1 - RANK_STEP * n)
        for word in title.answers:
            votes[word] = votes.get(word, 0.0) + value
    top = max(votes.values(), default=0.0)
    if top <= 0 or VOTE <= 0:
        return out
    named_in_full = frozenset().union(*(s.full for ss in passages for s in ss))

    def share(s: Sentence) -> float:
        partial = [
            votes[w] * (PARTIAL_NAME if w in named_in_full and w not in s.full else 1.0) for w in s.answers
        ]
        return max(partial, default=0.0) / top

    return [
        [v * (1 + VOTE * share(s)) for s, v in zip(ss, vs, strict=True)]
        for ss, vs in zip(passages, out, strict=True)
    ]


def window(
    sentences: Scored,
    scores: list[float],
    analyzer: Analyzer,
    weights: dict[str, float],
    limit: int | None = None,
) -> Snippet:
    """The passage's text around its best sentence, up to `limit` (SNIPPET_CHARS) characters,
    grown toward the better-scoring neighbour first: the answer often sits beside the best
    sentence, on either side (docs/quality.md, sixth round of issue 14)."""
    limit = limit or SNIPPET_CHARS
    texts = [s.text for s in sentences]
    fallback = [s.covered for s in sentences]  # no answering sentence: the densest one
    keys = scores if any(scores) else fallback
    best = max(range(len(texts)), key=lambda i: (keys[i], -i))
    lo = hi = best
    size = len(texts[best])
    while True:  # one sentence at a time, toward the neighbour that answers better (after on a tie)
        fits = [j for j in (hi + 1, lo - 1) if 0 <= j < len(texts) and size + len(texts[j]) + 1 <= limit]
        if not fits:
            break
        j = max(fits, key=lambda j: (keys[j], j > hi))
        size += len(texts[j]) + 1
        lo, hi = min(lo, j), max(hi, j)
    body = " ".join(texts[lo : hi + 1])
    if len(body) > limit * 2:  # one enormous sentence: cut at a word
        body = body[: limit * 2].rsplit(" ", 1)[0] + " …"
    prefix = "… " if lo > 0 else ""
    suffix = " …" if hi < len(texts) - 1 and not body.endswith("…") else ""
    return mark(prefix + body + suffix, analyzer, weights)


def mark(text: str, analyzer: Analyzer, weights: dict[str, float]) -> Snippet:
    """`text` with the spans of words whose term is in the question; never inside a URL, where
    a mark would break the link."""
    urls = [m.span() for m in _URL.finditer(text)]
    spans = tuple(
        (s, e)
        for s, e, term in analyzer.spans(text)
        if term in weights and not any(a <= s < b for a, b in urls)
    )
    return Snippet(text=text, marks=spans)


def best_sentence(passages: Sequence[Scored], scores: Sequence[list[float]]) -> tuple[int, int] | None:
    """(passage, sentence) of the headline, or None when no sentence answers."""
    best: tuple[float, int, int] | None = None
    for p, values in enumerate(scores):
        for i, value in enumerate(values):
            if value > 0 and (best is None or value > best[0]):
                best = (value, p, i)
    return None if best is None else (best[1], best[2])
