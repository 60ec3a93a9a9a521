"""Snippets and the best sentence: which sentences of the shown passages to quote, words marked."""

from __future__ import annotations

import re

from newsbot.records import Snippet
from newsbot.text.analyzer import Analyzer
from newsbot.text.sentences import split_sentences

SNIPPET_CHARS = 360
_URL = re.compile(r"https?://\S+")
Scored = tuple[list[str], list[float]]  # a passage's sentences and their scores for a question


def sentence_score(sentence: str, analyzer: Analyzer, weights: dict[str, float]) -> float:
    found = {term for _, _, term in analyzer.spans(sentence) if term in weights}
    # Distinct query terms by idf, with a gentle preference for short, dense sentences.
    return sum(weights[t] for t in found) / (1 + len(sentence) / 2000)


def scored(text: str, analyzer: Analyzer, weights: dict[str, float]) -> Scored:
    """A passage's sentences and their scores: worked out once, for its snippet and the best
    sentence."""
    sentences = split_sentences(text) or [text]
    return sentences, [sentence_score(s, analyzer, weights) for s in sentences]


def window(
    scored: Scored, analyzer: Analyzer, weights: dict[str, float], limit: int = SNIPPET_CHARS
) -> Snippet:
    sentences, scores = scored
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    lo = hi = best
    size = len(sentences[best])
    while True:
        grown = False
        for j in (hi + 1, lo - 1):
            if 0 <= j < len(sentences) and size + len(sentences[j]) + 1 <= limit:
                size += len(sentences[j]) + 1
                lo, hi = min(lo, j), max(hi, j)
                grown = True
        if not grown:
            break
    body = " ".join(sentences[lo : hi + 1])
    if len(body) > limit * 2:  # one enormous sentence: cut at a word
        body = body[: limit * 2].rsplit(" ", 1)[0] + " …"
    prefix = "… " if lo > 0 else ""
    suffix = " …" if hi < len(sentences) - 1 and not body.endswith("…") else ""
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


def best_sentence(analyzer: Analyzer, passages: list[Scored], weights: dict[str, float]) -> Snippet | None:
    """The single sentence of the shown passages (best first) that covers the question best."""
    best: tuple[float, int, str] | None = None
    for rank, (sentences, scores) in enumerate(passages):
        for sentence, found in zip(sentences, scores, strict=True):
            score = found * (1 - 0.05 * rank)
            if best is None or score > best[0]:
                best = (score, rank, sentence)
    if best is None or best[0] <= 0:
        return None
    return mark(best[2], analyzer, weights)
