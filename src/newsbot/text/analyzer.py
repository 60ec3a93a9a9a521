"""The one analyzer for documents and queries.

Choices, applied identically to articles and questions so their terms meet:
- Text is lowercased; tokens are runs of letters/digits (Unicode ``\\w``), and dotted acronyms
  ("U.S.", "U.K.") become one token without dots ("us", "uk"). Apostrophes and hyphens split words.
- Stopwords are the project's own list (``data/stopwords.txt``: function words and single letters).
- Remaining words are stemmed with nltk's Snowball (Porter2) English stemmer, each distinct word
  once: results are cached in a dict, since nltk's stemmers are pure Python.
- Nothing needs nltk data files, so nothing is downloaded, ever.

Speed, with the same terms:
- Tokens never contain whitespace, so `terms` cuts the lowercased text at whitespace and analyses
  each distinct chunk ("sanctions," or "u.s.") once; the loop over a text's chunks runs in C.
- Chunks of ASCII, common punctuation (never a word character) and Latin letters (word characters
  for every regex engine) are tokenized with the standard `re`; any other with the `regex` engine,
  as nltk's `RegexpTokenizer` does (nltk itself is not imported for it).
- nltk is imported only when first needed (~0.25 s, see `snowball_english`): a saved index hands the stems
  of its corpus' words to the analyzer used with it (`Analyzer.knowing`), so answering questions
  rarely needs the stemmer at all.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from itertools import chain
from typing import Any

from newsbot.imports import without_scipy

TOKEN_PATTERN = r"(?:[^\W\d_]\.){2,}|[^\W_]+"
_ASCII_TOKENS = re.compile(r"(?:[A-Za-z]\.){2,}|[A-Za-z0-9]+")  # TOKEN_PATTERN, for ASCII text only
_LATIN_TOKENS = re.compile(TOKEN_PATTERN)
# Punctuation and symbols that no regex engine counts as word characters: as good as a space.
_PUNCTUATION = str.maketrans(dict.fromkeys("‘’‚“”„«»‹›–—…•►♦£€¥©®™°\u200b\xad", " "))
# Latin letters (not × or ÷): word characters, not digits, for `re` and `regex` alike.
_LATIN = frozenset(chr(c) for c in range(0xC0, 0x250) if chr(c) not in "×÷")
MAX_TOKEN_LENGTH = 40  # longer "words" are URLs, hashes or junk; they would only bloat the vocabulary
_MAX_CHUNKS = 1_000_000  # the chunk cache starts over when it grows past this (~150 MB)


STEMMER = "snowball-english"  # nltk's Snowball (Porter2) English stemmer


def word_list(name: str) -> frozenset[str]:
    """A shipped word list: whitespace-separated words, `#` starts a comment line."""
    text = files("newsbot.text.data").joinpath(name).read_text(encoding="utf-8")
    return frozenset(
        w for line in text.splitlines() if not line.lstrip().startswith("#") for w in line.split()
    )


def digest(words: Iterable[str]) -> str:
    """A short hash of a word list, the same whatever its order."""
    return hashlib.sha256("\n".join(sorted(words)).encode()).hexdigest()[:16]


@cache
def _nltk_version() -> str:
    try:
        return version("nltk")
    except PackageNotFoundError:  # pragma: no cover - nltk is a declared dependency
        return "unknown"


class Analyzer:
    """Turns text into index terms. Deterministic; see the module docstring for its choices.

    `known_stems` (token -> Snowball stem, e.g. a saved index's `stems`) spares the stemmer for
    the words it has; it belongs to this analyzer alone (see `knowing`).
    """

    def __init__(
        self, stopwords: frozenset[str] | None = None, known_stems: Mapping[str, str] | None = None
    ) -> None:
        self.stopwords = word_list("stopwords.txt") if stopwords is None else stopwords
        self.known_stems = known_stems
        self._known: Callable[[str], str | None] = known_stems.get if known_stems is not None else _unknown
        self._stem: Callable[[str], str] | None = None
        # token -> term, or "" for a dropped token; filled lazily, one stemmer call per word.
        self._terms: dict[str, str] = {}
        # lowercased whitespace-free chunk of text -> its terms; filled lazily.
        self._chunks = _ChunkCache(self.chunk_terms)
        self._stemmed: dict[str, str] = {}  # token -> stem made by the stemmer, since `take_stems`

    def knowing(self, stems: Mapping[str, str]) -> Analyzer:
        """An analyzer like this one (empty caches) that looks stems up in `stems` first."""
        return Analyzer(self.stopwords, stems)

    def fingerprint(self) -> dict[str, str | int]:
        """What decides the terms of a text: an index records it, and is rebuilt when it changes."""
        return {
            "stemmer": f"{STEMMER} nltk {_nltk_version()}",
            "stopwords": digest(self.stopwords),
            "token_pattern": TOKEN_PATTERN,
            "max_token_length": MAX_TOKEN_LENGTH,
        }

    def __copy__(self) -> Analyzer:
        """The configuration and known stems, not the caches (a worker reports every stem)."""
        return Analyzer(self.stopwords, self.known_stems)

    def __getstate__(self) -> dict[str, Any]:
        """Pickles (for worker processes) carry the configuration only: not the caches, nor the
        known stems (a saved index's table is big; forked workers get them by `__copy__`)."""
        return {"stopwords": self.stopwords}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["stopwords"])  # type: ignore[misc]

    def tokens(self, text: str) -> list[str]:
        """Lowercased word tokens, in order, acronyms joined ("u.s." -> "us")."""
        return [
            t.replace(".", "") if "." in t else t
            for chunk in text.lower().split()
            for t in self._chunk_tokens(chunk)
        ]

    def term(self, token: str) -> str:
        """The index term of one lowercase token, or "" when it is dropped."""
        term = self._terms.get(token)
        if term is None:
            if token in self.stopwords or len(token) > MAX_TOKEN_LENGTH:
                term = ""
            else:
                term = self._known(token) or ""
                if not term:
                    term = self._stemmed[token] = self._stem_of(token)
            self._terms[token] = term
        return term

    def _stem_of(self, token: str) -> str:
        if self._stem is None:
            self._stem = snowball_english()
        return self._stem(token)

    def take_stems(self) -> dict[str, str]:
        """The stems the stemmer made since the last call, for words the known stems lack: what
        a new index adds to its stem table (the known ones it has already)."""
        stems, self._stemmed = self._stemmed, {}
        return stems

    def terms(self, text: str) -> list[str]:
        """The index terms of a text, in order, repeats kept (BM25 counts them)."""
        return list(chain.from_iterable(map(self._chunks.__getitem__, self.chunks(text))))

    @staticmethod
    def chunks(text: str) -> list[str]:
        """The text lowercased and cut at whitespace: its terms are its chunks' terms, in order."""
        return text.lower().split()

    def chunk_terms(self, chunk: str) -> tuple[str, ...]:
        """The terms of one of `chunks`, not cached (`terms` caches them)."""
        if chunk.isalnum() and chunk.isascii():  # most: one plain token
            term = self.term(chunk)
            return (term,) if term else ()
        terms = (self.term(t.replace(".", "") if "." in t else t) for t in self._chunk_tokens(chunk))
        return tuple(t for t in terms if t)

    def _chunk_tokens(self, chunk: str) -> list[str]:
        """The tokens of a lowercased chunk of text without whitespace, dots not yet removed."""
        if not chunk.isascii():
            plain = chunk.translate(_PUNCTUATION)
            if not plain.isascii():
                if _LATIN.issuperset(c for c in plain if not c.isascii()):
                    return _LATIN_TOKENS.findall(plain)
                tokens: list[str] = _other_tokens().findall(chunk)
                return tokens
            chunk = plain
        return [chunk] if chunk.isalnum() else _ASCII_TOKENS.findall(chunk)

    def spans(self, text: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, term) for every token of `text` that survives analysis: for highlighting."""
        for match in re.finditer(TOKEN_PATTERN, text):
            token = match.group().lower()
            term = self.term(token.replace(".", "") if "." in token else token)
            if term:
                yield match.start(), match.end(), term


class _ChunkCache(dict[str, tuple[str, ...]]):
    """chunk -> terms, computed on a miss: lookups that hit stay in C."""

    def __init__(self, analyse: Callable[[str], tuple[str, ...]]) -> None:
        super().__init__()
        self._analyse = analyse

    def __missing__(self, chunk: str) -> tuple[str, ...]:
        if len(self) >= _MAX_CHUNKS:
            self.clear()
        terms = self[chunk] = self._analyse(chunk)
        return terms


def snowball_english() -> Callable[[str], str]:
    """nltk's Snowball English stemmer, nltk imported without scipy (`without_scipy`: 0.55 of the
    0.8 s the import takes, and 64 MB, for a collocation test newsbot never runs; nltk keeps its
    own fallback for it)."""
    if "nltk" not in sys.modules:
        with without_scipy():
            import nltk  # noqa: F401
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("english").stem  # type: ignore[no-any-return]


@cache
def _other_tokens() -> Any:
    """TOKEN_PATTERN compiled as nltk's `RegexpTokenizer` compiles it (the `regex` engine, its
    flags), which tokenized these chunks before: the same tokens, without importing nltk, whose
    package imports scipy where installed (1-2 s in a fresh process, for one odd character)."""
    import regex

    return regex.compile(TOKEN_PATTERN, regex.UNICODE | regex.MULTILINE | regex.DOTALL)


def _unknown(token: str) -> str | None:
    return None


@cache
def default_analyzer() -> Analyzer:
    """One shared analyzer per process with the default configuration and no known stems (its
    caches depend on that configuration alone, so sharing them is safe)."""
    return Analyzer()
