"""The compiled passages of a batch are `split_passages`' own, text by text, and its whitespace
check finds what `split_passages`' check finds."""

import random
import sys

import pytest

from newsbot.index.spacing import passages_of
from newsbot.text.passages import _odd_spacing, split_passages


def _plain(texts: list[str]) -> list[bool]:
    return passages_of([t.encode("utf-8", "surrogatepass") for t in texts], 300)[1]


def test_every_whitespace_character_but_a_lone_space_or_newline_is_odd() -> None:
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    texts = [f"a{space}b" for space in spaces]
    assert _plain(texts) == [space in " \n" for space in spaces]


def test_random_texts_are_judged_as_one_by_one() -> None:
    rng = random.Random(3)
    alphabet = "ab \n\n\t\xa0\u2003\u2019\u201c\u3000\u1680\u205f\u2028\x1cé\ud800Ж"
    texts = ["", " ", "a ", " a", "a\nb", "a \nb", "a\n b", "a  b", "plain text.\n\nNext one."]
    texts += ["".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(3000)]
    assert _plain(texts) == [not _odd_spacing(t) for t in texts]
    assert 0 < sum(_plain(texts)) < len(texts)  # both kinds met


def _article(rng: random.Random) -> str:
    """Lines of 1 to 14 words (words of any script), a blank line or several between some, now
    and then odd whitespace, or a sentence-cut long line."""
    words = ["a", "Bé", "Жук", "naïve", "U.S.", "Mr.", "“quoted”", "end.", "12", "x" * 30, "Σοφία"]
    lines = []
    for _ in range(rng.randint(0, 12)):
        lines.append(" ".join(rng.choices(words, k=rng.randint(1, 14))))
        lines.append("" if rng.random() < 0.3 else None)
    text = "\n".join(line for line in lines if line is not None)
    if rng.random() < 0.1:
        text = text.replace(" ", rng.choice(["  ", "\t", "\xa0", " \n"]), 1)
    return text


@pytest.mark.parametrize("target", [1, 5, 12, 30, 300])
def test_the_compiled_passages_are_split_passages_own(target: int) -> None:
    rng = random.Random(target)
    texts = ["", "\n", "\n\nA line.\n\n\n", "one two three", "a\nb\nc", *(_article(rng) for _ in range(2000))]
    packed, plain = passages_of([t.encode("utf-8", "surrogatepass") for t in texts], target)
    for text, pieces, as_is in zip(texts, packed, plain, strict=True):
        expected = split_passages(text, target, as_is)
        if pieces is not None:
            assert [p.decode() for p in pieces] == expected, text
    # Most texts are packed here; those with odd spacing or a line past the target are not.
    left = [t for t, pieces in zip(texts, packed, strict=True) if pieces is None]
    assert 0 < len(left) < len(texts)
    assert all(_odd_spacing(t) or max(len(line.split(" ")) for line in t.split("\n")) > target for t in left)
