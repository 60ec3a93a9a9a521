"""The news sentence splitter: paragraphs, abbreviations, initials and dotted acronyms."""

from __future__ import annotations

import re

from newsbot.text.analyzer import word_list

_ABBREVIATIONS = word_list("abbreviations.txt")
# A candidate end: terminal punctuation, optional closing quotes/brackets, then space.
_END = re.compile(r"([.!?…]+)([\"'”’)\]]*)(\s+)")
_LINE_ENDS = re.compile(r"\n\s*\n|\r?\n")  # paragraph breaks and line ends
_ACRONYM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_NEXT_WORD = re.compile(r"[\"'“‘]?(\w+)")
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
    # (A build splits long single lines: the regex scanning one for a line end cost a third.)
    for paragraph in _LINE_ENDS.split(text) if "\n" in text else [text]:
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
            paragraph[start : match.start()], paragraph, match.end()
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


def _period_ends(before: str, paragraph: str, after: int) -> bool:
    """Whether a period after `before` ends the sentence, given what follows it in `paragraph`
    from `after` on (not sliced off: that copied the rest of a long paragraph at every period)."""
    word = before.rsplit(None, 1)[-1] if before.strip() else ""
    word = word.lstrip(_OPENERS)
    if not word:
        return True
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial
    if "." in word and _ACRONYM.fullmatch(word):
        next_word = _NEXT_WORD.match(paragraph, after)
        return next_word is not None and next_word.group(1).lower() in _STARTERS
    return word.lower() not in _ABBREVIATIONS
