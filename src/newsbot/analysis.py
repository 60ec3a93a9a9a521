"""The one analyzer for documents and queries, and the sentence splitter.

Choices, applied identically to articles and questions so their terms meet:
- Text is lowercased; tokens are runs of letters/digits (Unicode ``\\w``), and dotted acronyms
  ("U.S.", "U.K.") become one token without dots ("us", "uk"). Apostrophes and hyphens split words.
- Stopwords are the project's own list (``data/stopwords.txt``: function words and single letters).
- Remaining words are stemmed with nltk's Snowball (Porter2) English stemmer, each distinct word
  once: results are cached in a dict, since nltk's stemmers are pure Python.
- Nothing needs nltk data files, so nothing is downloaded, ever.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from importlib.resources import files

from nltk.stem.snowball import SnowballStemmer
from nltk.tokenize import RegexpTokenizer

TOKEN_PATTERN = r"(?:[^\W\d_]\.){2,}|[^\W_]+"
_MAX_TOKEN_LEN = 40  # longer "words" are URLs, hashes or junk; they would only bloat the vocabulary


def word_list(name: str) -> frozenset[str]:
    """A shipped word list: whitespace-separated words, `#` starts a comment line."""
    text = files("newsbot.data").joinpath(name).read_text(encoding="utf-8")
    return frozenset(
        w for line in text.splitlines() if not line.lstrip().startswith("#") for w in line.split()
    )


class Analyzer:
    """Turns text into index terms. Deterministic; see the module docstring for its choices."""

    def __init__(self, stopwords: frozenset[str] | None = None) -> None:
        self.stopwords = word_list("stopwords.txt") if stopwords is None else stopwords
        self._tokenizer = RegexpTokenizer(TOKEN_PATTERN)
        self._stem = SnowballStemmer("english").stem
        # token -> term, or "" for a dropped token; filled lazily, one stemmer call per word.
        self._terms: dict[str, str] = {}

    def tokens(self, text: str) -> list[str]:
        """Lowercased word tokens, in order, acronyms joined ("u.s." -> "us")."""
        return [t.replace(".", "") if "." in t else t for t in self._tokenizer.tokenize(text.lower())]

    def term(self, token: str) -> str:
        """The index term of one lowercase token, or "" when it is dropped."""
        term = self._terms.get(token)
        if term is None:
            dropped = token in self.stopwords or len(token) > _MAX_TOKEN_LEN
            term = "" if dropped else self._stem(token)
            self._terms[token] = term
        return term

    def terms(self, text: str) -> list[str]:
        """The index terms of a text, in order, repeats kept (BM25 counts them)."""
        out = []
        lookup = self._terms.get
        for token in self.tokens(text):
            term = lookup(token)
            if term is None:
                term = self.term(token)
            if term:
                out.append(term)
        return out

    def spans(self, text: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, term) for every token of `text` that survives analysis: for highlighting."""
        for match in re.finditer(TOKEN_PATTERN, text):
            token = match.group().lower()
            term = self.term(token.replace(".", "") if "." in token else token)
            if term:
                yield match.start(), match.end(), term


@cache
def default_analyzer() -> Analyzer:
    """One shared analyzer per process, so its stem cache is shared too."""
    return Analyzer()


# --- sentences ---------------------------------------------------------------------------------

_ABBREVIATIONS = word_list("abbreviations.txt")
# A candidate end: terminal punctuation, optional closing quotes/brackets, then space.
_END = re.compile(r"([.!?…]+)([\"'”’)\]]*)(\s+)")
_OPENERS = "\"'“‘(["
_STARTERS = frozenset([  # words that typically open a sentence
    "the", "a", "an", "he", "she", "it", "they", "we", "i", "this", "that", "these", "those",
    "but", "and", "in", "on", "at", "for", "his", "her", "their", "its", "there", "after", "when",
    "while", "as", "if", "so", "yet", "mr", "mrs", "ms", "dr",
])


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
        after = paragraph[match.end():match.end() + 1]
        if not after or not (after.isupper() or after.isdigit() or after in _OPENERS):
            continue
        if match.group(1) == "." and not _period_ends(paragraph[start:match.start()],
                                                     paragraph[match.end():]):
            continue
        piece = paragraph[start:match.end()].strip()
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
