"""What a post about a match quotes: the best sentence of the matched passage, words marked."""

from __future__ import annotations

from newsbot.answers.snippets import best_sentence, scored
from newsbot.records import Snippet
from newsbot.text.analyzer import Analyzer
from newsbot.watches.records import Match


def quote(match: Match, analyzer: Analyzer) -> Snippet | None:
    """The sentence of the best passage with most of the watch's words; None when none has one."""
    weights = dict.fromkeys(match.terms, 1.0)
    return best_sentence(analyzer, [scored(match.passage, analyzer, weights)], weights)
