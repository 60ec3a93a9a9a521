"""Splitting an article into passages: the units BM25 ranks and answers quote."""

from __future__ import annotations

import re

from newsbot.text.sentences import split_sentences

TARGET_WORDS = 300  # a passage holds about this many words: a few news paragraphs


def split_passages(text: str, target: int = TARGET_WORDS, plain: bool | None = None) -> list[str]:
    """Paragraph-aware windows of about `target` words, cut only at sentence boundaries.

    Paragraphs are packed whole while they fit; a paragraph too long for one window is cut
    between sentences, and only a single sentence longer than a window is cut between words.
    Windows do not overlap, so every word belongs to exactly one passage. `plain`: whether the
    text's whitespace is known to need no normalising (see `_paragraphs`); None: find out.
    """
    units: list[tuple[str, int, bool]] = []  # (text, words, starts a paragraph)
    for paragraph in _paragraphs(text, plain):
        words = paragraph.count(" ") + 1
        if words <= target:
            units.append((paragraph, words, True))
            continue
        first = True
        for sentence in split_sentences(paragraph):
            for piece in _cut_words(sentence, target):
                units.append((piece, piece.count(" ") + 1, first))
                first = False

    passages: list[str] = []
    current: list[str] = []
    count = 0
    for piece, words, new_paragraph in units:
        if current and count + words > target:
            passages.append(_join(current))
            current, count = [], 0
        current.append(("\n\n" if new_paragraph else " ") + piece)
        count += words
    if current:
        passages.append(_join(current))
    return passages


def _paragraphs(text: str, plain: bool | None = None) -> list[str]:
    """The text's lines with their whitespace normalised (runs of it one space, none at the ends),
    empty ones dropped. Most texts need no normalising (single spaces, lines without a space at
    either end): then only the lines are split off, which costs a build far less than a split
    and a join per line."""
    if plain is None:
        plain = not _odd_spacing(text)
    if not plain:
        return [p for p in (" ".join(line.split()) for line in text.split("\n")) if p]
    return [line for line in text.split("\n") if line]


def _odd_spacing(text: str) -> bool:
    """Whitespace that `_paragraphs` must normalise (`newsbot.index.spacing` finds the same for
    a batch of texts at once)."""
    return (
        text[:1] == " "
        or text[-1:] == " "
        or "  " in text
        or " \n" in text
        or "\n " in text
        or _OTHER_SPACE.search(text) is not None
    )


# Whitespace for `str.split` other than the space and the newline.
_OTHER_SPACE = re.compile("[\t\r\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def _join(pieces: list[str]) -> str:
    return "".join(pieces).strip()


def _cut_words(sentence: str, target: int) -> list[str]:
    if sentence.count(" ") < target:  # most: no list of its words made
        return [sentence]
    words = sentence.split(" ")
    return [" ".join(words[i : i + target]) for i in range(0, len(words), target)]
