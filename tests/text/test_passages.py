import random
import re

from newsbot.text.passages import TARGET_WORDS, _paragraphs, split_passages
from tests.conftest import SEED


def test_short_paragraphs_are_packed_whole() -> None:
    text = "One two three.\n\nFour five six.\n\nSeven eight."
    assert split_passages(text, target=6) == ["One two three.\n\nFour five six.", "Seven eight."]


def test_long_paragraph_cut_at_sentences() -> None:
    text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota."
    assert split_passages(text, target=4) == ["Alpha beta gamma.", "Delta epsilon zeta.", "Eta theta iota."]


def test_giant_sentence_cut_at_words() -> None:
    words = " ".join(f"w{i}" for i in range(25))
    parts = split_passages(words, target=10)
    assert [len(p.split()) for p in parts] == [10, 10, 5]
    # One word more than a window is cut.
    eleven = " ".join(f"w{i}" for i in range(11))
    assert [len(p.split()) for p in split_passages(eleven, target=10)] == [10, 1]


def test_a_long_line_is_cut_where_its_sentences_end() -> None:
    # One line longer than a window: its sentences found without line ends to split at, the
    # acronym rules read past the period ("U.S. The" ends one, "U.S. Capitol" does not).
    line = "He moved to the U.S. The rest followed. Mr. Lee saw the U.S. Capitol today. Then he left."
    assert split_passages(line, target=7) == [
        "He moved to the U.S.",
        "The rest followed.",
        "Mr. Lee saw the U.S. Capitol today.",
        "Then he left.",
    ]


def test_every_word_kept_once_on_real_article() -> None:
    body = SEED.read_text(encoding="utf-8").split("\n", 1)[1]
    parts = split_passages(body)
    assert " ".join(" ".join(parts).split()) == " ".join(body.split())
    assert all(len(p.split()) <= TARGET_WORDS for p in parts)
    assert len(parts) > 3


def test_paragraphs_are_the_lines_with_whitespace_normalised() -> None:
    """The fast path (text already normal) and the other give what splitting at newline runs and
    normalising each piece gives."""
    rng = random.Random(15)
    alphabet = "ab .\n\n\t\r\xa0\u2028\u3000\x1c"
    for _ in range(3000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 40)))
        expected = [p for p in (" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", text)) if p]
        assert _paragraphs(text) == expected, repr(text)
    assert _paragraphs("One two.\n\nThree\nfour") == ["One two.", "Three", "four"]
    assert _paragraphs(" One  two \n\u2028\nthree\xa0four") == ["One two", "three four"]
