from pathlib import Path

import pytest

from newsbot.answers.answer import answer, clean_question
from newsbot.errors import BadQuestion
from newsbot.index.build import build_index
from newsbot.index.store import Index
from newsbot.records import Filters
from newsbot.text.analyzer import default_analyzer


@pytest.fixture
def index(corpus_dir: Path) -> Index:
    return build_index(corpus_dir, default_analyzer())[0]


def test_kadyrov_answer_with_citation_and_marks(index: Index) -> None:
    result = answer(index, default_analyzer(), "who was sanctioned?")
    assert result.matched and result.index_version == index.version
    top = result.hits[0]
    assert top.citation.article_id == "000_1e09d41da4d2db93"
    assert top.citation.title.startswith("UK’s Boris Johnson meets")
    assert top.citation.path == "000_1e09d41da4d2db93.txt"
    assert "Kadyrov" in top.snippet.text
    marked = [top.snippet.text[s:e].lower() for s, e in top.snippet.marks]
    assert marked and all(m.startswith("sanction") for m in marked)
    assert result.best_sentence is not None
    best = result.best_sentence.text
    assert "sanction" in best and ("Kadyrov" in best or "Chechen leader" in best)
    assert result.terms == ("sanction",)


def test_one_passage_per_article_and_k(index: Index) -> None:
    result = answer(index, default_analyzer(), "said", k=5)
    ids = [h.citation.article_id for h in result.hits]
    assert len(ids) == len(set(ids))
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)


def test_filters_apply(index: Index) -> None:
    result = answer(index, default_analyzer(), "union talks pay", filters=Filters(source="Coast Herald"))
    assert all(h.citation.source == "Coast Herald" for h in result.hits)


def test_no_match_is_honest_and_lists_closest(index: Index) -> None:
    result = answer(index, default_analyzer(), "what did the harbour mayor say about volcanoes in Peru?")
    assert not result.matched and result.best_sentence is None
    assert result.closest_titles[0] == "Harbour city opens floating solar farm"
    nothing = answer(index, default_analyzer(), "quantum zebra xylophone")
    assert not nothing.matched and nothing.hits == ()


@pytest.mark.parametrize("question", ["", "   ", "🙂🙂🙂", "<@123> <#456>", "**__**"])
def test_empty_questions_get_a_clear_message(index: Index, question: str) -> None:
    with pytest.raises(BadQuestion, match="ask a question in words"):
        answer(index, default_analyzer(), question)


def test_stopword_only_and_huge_questions(index: Index) -> None:
    with pytest.raises(BadQuestion, match="only very common words"):
        answer(index, default_analyzer(), "who was it?")
    with pytest.raises(BadQuestion, match="10,240 characters"):
        answer(index, default_analyzer(), "x" * 10_240)


def test_markup_is_ignored_in_questions() -> None:
    assert clean_question("**who** was <@&99> sanctioned? https://x.y/z <b>") == "who was sanctioned?"
    assert clean_question("@everyone who was sanctioned? @here") == "who was sanctioned?"


def test_names_in_the_question_must_match_as_words(tmp_path: Path) -> None:
    (tmp_path / "mar.txt").write_text(
        "President visits Mar-a-Lago\n\nThe president of the club met guests at Mar-a-Lago on Friday.\n"
    )
    (tmp_path / "mars.txt").write_text(
        "Rover lands on Mars\n\nThe president of the space agency said the rover landed on Mars.\n"
    )
    index = build_index(tmp_path, default_analyzer())[0]
    assert answer(index, default_analyzer(), "who is the president of Mars?").matched
    (tmp_path / "mars.txt").unlink()
    without = build_index(tmp_path, default_analyzer())[0]
    result = answer(without, default_analyzer(), "who is the president of Mars?")
    assert result.hits and not result.matched  # "mar" of Mar-a-Lago is not Mars


def test_syndicated_copies_are_one_story_and_matching_articles_counted(tmp_path: Path) -> None:
    story = "The Kelby dam burst on Sunday and flooded three villages, officials said on Monday."
    for n, source in enumerate(["Wire", "Herald", "Gazette"]):
        extra = ["", " Photos welcome.", " Readers may send photos."][n]  # copies, not duplicates
        (tmp_path / f"{n}.md").write_text(f"---\ntitle: Dam bursts\nsource: {source}\n---\n{story}{extra}\n")
    (tmp_path / "other.md").write_text(
        "---\ntitle: Kelby dam repairs\n---\nThe Kelby dam will be repaired.\n"
    )
    for n, topic in enumerate(["tennis final", "bakery prices", "chess club", "bus timetable", "zoo pandas"]):
        (tmp_path / f"filler{n}.md").write_text(f"---\ntitle: {topic}\n---\nNews about the {topic} today.\n")
    index = build_index(tmp_path, default_analyzer())[0]
    result = answer(index, default_analyzer(), "Kelby dam burst villages flooded", k=3)
    first = result.hits[0]
    assert len(first.also) == 2 and {first.citation.source, *(c.source for c in first.also)} == {
        "Wire",
        "Herald",
        "Gazette",
    }
    assert [h.citation.title for h in result.hits[1:]] == ["Kelby dam repairs"]
    assert result.matching == 3  # the copies hold "villages", the rarest term; the repairs do not
