from pathlib import Path

import pytest

import newsbot.answers.second as second
from newsbot.answers.answer import answer, consider, names
from newsbot.index.build import build_index
from newsbot.index.store import Index
from newsbot.quality.unanswerable import shown_text
from newsbot.records import Citation, Hit, Quote, Snippet
from newsbot.text.analyzer import default_analyzer

# About 240 words: with it, each paragraph is a passage of its own.
_FILLER = " ".join(
    f"Residents of ward {n} filled the hall and asked about parking and noise." for n in range(20)
)


def _write(folder: Path, name: str, title: str, *paragraphs: str) -> None:
    (folder / name).write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n")


@pytest.fixture
def index(tmp_path: Path) -> Index:
    _write(
        tmp_path,
        "dam.txt",
        "Council approves the river dam",
        "The council approved the river dam on Monday. A company will be chosen to build the dam. " + _FILLER,
        "Norwick Engineering will build the dam, the company said after the vote. " + _FILLER,
        "Weather: rain later in the week. " + _FILLER,
    )
    _write(
        tmp_path,
        "vote.txt",
        "River dam vote",
        "The council approved the river dam on Monday by nine votes to two. Work starts in spring.",
    )
    _write(tmp_path, "park.txt", "A new park opens", "The city opened a park with a pond and a playground.")
    _write(
        tmp_path, "bridge.txt", "Bridge repairs", "Repairs to the old bridge will close the road for a week."
    )
    return build_index(tmp_path, default_analyzer())[0]


QUESTION = "Which company will build the river dam the council approved on Monday?"


def test_the_best_articles_other_passage_that_holds_the_question_is_quoted(index: Index) -> None:
    result = answer(index, default_analyzer(), QUESTION)
    top = result.hits[0]
    assert top.citation.title == "Council approves the river dam" and top.position == 0
    assert "Norwick" not in top.snippet.text
    assert top.second is not None and top.second.position == 1
    assert index.article_of(top.second.passage_id).title == top.citation.title
    assert "Norwick Engineering" in top.second.snippet.text
    marked = {top.second.snippet.text[s:e].lower() for s, e in top.second.snippet.marks}
    assert {"company", "build", "dam"} <= marked
    assert [q.text for q in top.quotes] == [top.snippet.text, top.second.snippet.text]
    assert "Norwick" in shown_text(index, result)  # what `newsbot eval` counts as shown
    assert all(h.second is None for h in result.hits[1:])


def test_the_second_passage_never_gives_the_headline(index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    quoted = answer(index, default_analyzer(), QUESTION)
    assert quoted.matched and quoted.hits[0].second is not None and quoted.best_sentence is not None
    assert "Norwick" not in quoted.best_sentence.text
    monkeypatch.setattr(second, "SECOND_MIN", 1.5)  # off: the same headline, the same first snippets
    alone = answer(index, default_analyzer(), QUESTION)
    assert alone.hits[0].second is None
    assert (alone.best_sentence, alone.headline_hit) == (quoted.best_sentence, quoted.headline_hit)
    assert [h.snippet for h in alone.hits] == [h.snippet for h in quoted.hits]


def test_no_second_passage_below_the_share_or_alone(index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    analyzer = default_analyzer()
    monkeypatch.setattr(second, "SECOND_MIN", 0.95)  # passage 2 lacks "Monday": under it
    assert consider(index, analyzer, QUESTION).second is None
    monkeypatch.setattr(second, "SECOND_MIN", 1.5)  # off
    assert answer(index, analyzer, QUESTION).hits[0].second is None
    monkeypatch.undo()
    park = answer(index, analyzer, "Which city opened a park with a pond?")
    assert park.hits[0].citation.title == "A new park opens" and park.hits[0].second is None


def test_the_passage_holding_more_of_the_question_wins(index: Index) -> None:
    analyzer = default_analyzer()
    got = consider(index, analyzer, QUESTION)
    top = got.stories[0][0]
    weights = got.weights
    names_of = names(analyzer, QUESTION)
    chosen = second.second_passage(
        index, top, weights, names_of, lambda p: set(index.passage_terms(p).tolist())
    )
    assert chosen is not None and int(index.passage_position[chosen]) == 1  # not the weather passage


def test_quotes_follow_the_articles_order() -> None:
    cite = Citation("a", "T", None, None, None, None)
    first, later = Snippet("first"), Snippet("later")
    hit = Hit(cite, 7, 2, 1.0, later, second=Quote(5, 0, first))
    assert [q.text for q in hit.quotes] == ["first", "later"]
    assert [q.text for q in Hit(cite, 7, 2, 1.0, later).quotes] == ["later"]
