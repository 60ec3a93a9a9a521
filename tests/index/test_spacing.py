"""The batch check of whitespace finds what `split_passages`' own check finds, text by text."""

import random
import sys

from newsbot.index.spacing import plain_spacing
from newsbot.text.passages import _odd_spacing


def test_every_whitespace_character_but_a_lone_space_or_newline_is_odd() -> None:
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    texts = [f"a{space}b" for space in spaces]
    assert plain_spacing(texts) == [space in " \n" for space in spaces]


def test_random_texts_are_judged_as_one_by_one() -> None:
    rng = random.Random(3)
    alphabet = "ab \n\n\t\xa0\u2003\u2019\u201c\u3000\u1680\u205f\u2028\x1cé\ud800Ж"
    texts = ["", " ", "a ", " a", "a\nb", "a \nb", "a\n b", "a  b", "plain text.\n\nNext one."]
    texts += ["".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(3000)]
    assert plain_spacing(texts) == [not _odd_spacing(t) for t in texts]
    assert 0 < sum(plain_spacing(texts)) < len(texts)  # both kinds met
