"""The news sentence splitter: paragraphs, abbreviations, initials and dotted acronyms."""

from __future__ import annotations

import re

from newsbot.text.analyzer import word_list

_ABBREVIATIONS = word_list("abbreviations.txt")
# A candidate end: terminal punctuation, optional closing quotes/brackets, then space.
_END = re.compile(r"([.!?…]+)([\"'”’)\]]*)(\s+)")
_OPENERS = "\"'“‘(["
_STARTERS = frozenset(
    [  # words that typically open a sentence
        "the",
        "a",
        "an",
        "he",
        "she",
        "it",
        "they",
        "we",
        "i",
        "this",
        "that",
        "these",
        "those",
        "but",
        "and",
        "in",
        "on",
        "at",
        "for",
        "his",
        "her",
        "their",
        "its",
        "there",
        "after",
        "when",
        "while",
        "as",
        "if",
        "so",
        "yet",
        "mr",
        "mrs",
        "ms",
        "dr",
    ]
)


def split_sentences(text: str) -> list[str]:
    """Split news text into sentences.

    Paragraph breaks always end a sentence. Inside a paragraph, ".", "!" or "?" ends one when the
    next word starts with a capital, a digit or an opening quote, except after a known abbreviation
    ("Mr.", "Sen.", "Jan."), an initial ("J. K. Rowling") or a dotted acronym ("U.S."), unless the
    acronym is followed by a typical sentence opener ("... in the U.S. The next day").
    """
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\r?\n", text):
        paragraph = paragraph.strip()
        if paragraph:
            sentences.extend(_split_paragraph(paragraph))
    return sentences


def _split_paragraph(paragraph: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _END.finditer(paragraph):
        after = paragraph[match.end() : match.end() + 1]
        if not after or not (after.isupper() or after.isdigit() or after in _OPENERS):
            continue
        if match.group(1) == "." and not _period_ends(
            paragraph[start : match.start()], paragraph[match.end() :]
        ):
            continue
        piece = paragraph[start : match.end()].strip()
        if piece:
            out.append(piece)
        start = match.end()
    rest = paragraph[start:].strip()
    if rest:
        out.append(rest)
    return out


def _period_ends(before: str, after: str) -> bool:
    """Whether a period after `before` ends the sentence, given the text `after` it."""
    word = before.rsplit(None, 1)[-1] if before.strip() else ""
    word = word.lstrip(_OPENERS)
    if not word:
        return True
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial
    if "." in word and re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word):
        next_word = re.match(r"[\"'“‘]?(\w+)", after)
        return next_word is not None and next_word.group(1).lower() in _STARTERS
    return word.lower() not in _ABBREVIATIONS
