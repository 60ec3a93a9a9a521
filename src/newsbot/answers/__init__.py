"""Answers: rank passages for a question and quote them (best sentence, snippets, citations)."""

from newsbot.answers.answer import answer, question_terms
from newsbot.answers.filters import parse_filters
from newsbot.answers.ranking import RANKING, Ranking, for_question, prior, rank, reference_day

__all__ = [
    "RANKING",
    "Ranking",
    "answer",
    "for_question",
    "parse_filters",
    "prior",
    "question_terms",
    "rank",
    "reference_day",
]
