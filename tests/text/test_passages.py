from newsbot.text.passages import TARGET_WORDS, split_passages
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


def test_every_word_kept_once_on_real_article() -> None:
    body = SEED.read_text(encoding="utf-8").split("\n", 1)[1]
    parts = split_passages(body)
    assert " ".join(" ".join(parts).split()) == " ".join(body.split())
    assert all(len(p.split()) <= TARGET_WORDS for p in parts)
    assert len(parts) > 3
