"""What a post about a match quotes: the best sentence of the matched passage, words marked."""

from __future__ import annotations

from newsbot.answers.snippets import mark
from newsbot.records import Snippet
from newsbot.text.analyzer import Analyzer
from newsbot.text.sentences import split_sentences
from newsbot.watches.records import Match


def quote(match: Match, analyzer: Analyzer) -> Snippet | None:
    """The sentence of the best passage holding most of the watch's words (the shorter of equals);
    None when none holds one. A standing topic asks no question, so no answer cues apply."""
    terms = set(match.terms)
    sentences = split_sentences(match.passage) or [match.passage]
    held = [len(terms & set(analyzer.terms(s))) for s in sentences]
    best = max(range(len(sentences)), key=lambda i: (held[i], -len(sentences[i])))
    if not held[best]:
        return None
    return mark(sentences[best], analyzer, dict.fromkeys(terms, 1.0))
