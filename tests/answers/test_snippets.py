"""The headline and snippets: the sentence that answers, not the one that asks or restates."""

import pytest

from newsbot.answers.cues import full_name_words, question_kind
from newsbot.answers.snippets import Asked, best_sentence, ranked, scored, sentence, window
from newsbot.text.analyzer import default_analyzer

QUIZ = (
    "Harrison Ford has had a new species of which animal named after him? "
    "Harrison Ford has had a new species named after him. "
    "Scientists named a snake Tachymenoides harrisonfordi after Harrison Ford, the actor."
)


def headline(question: str, *passages: str) -> str | None:
    analyzer = default_analyzer()
    weights = {t: 1.0 for t in analyzer.terms(question)}
    asked = Asked.of(question, analyzer, weights)
    shown = [scored(p, analyzer, asked) for p in passages]
    best = best_sentence(shown, ranked(shown))
    return None if best is None else shown[best[0]][best[1]].text


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who won the election?", "name"),
        ("Which actor was honoured?", "name"),
        ("When did the bridge open?", "date"),
        ("In which year was it founded?", "date"),
        ("How many people were hurt?", "number"),
        ("What percentage of plastic is recycled?", "number"),
        ("Where did the storm land?", "place"),
        ("The storm hit this week. In which country did it land?", "country"),
        ("Which European nation elected her?", "country"),
        ("Which U.S. state banned the app?", "state"),
        ("Which company bought Twitter?", "thing"),
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert question_kind(question) == kind


def test_headline_is_never_the_question_nor_a_restatement() -> None:
    question = "Harrison Ford has had a new species of which animal named after him?"
    assert headline(question, QUIZ) == (
        "Scientists named a snake Tachymenoides harrisonfordi after Harrison Ford, the actor."
    )


def test_headline_prefers_the_sentence_with_what_is_asked() -> None:
    passage = (
        "The Senate passed the marriage bill on Tuesday after a long debate in the chamber. "
        "Twelve Republicans supported the marriage bill, with 61 votes in favour."
    )
    got = headline("How many Republicans supported the marriage bill the Senate passed?", passage)
    assert got is not None and got.startswith("Twelve Republicans")


def test_headline_may_come_from_a_lower_passage_and_none_when_nothing_answers() -> None:
    first = "Panda cubs are popular. Zoo visitors queue for hours."
    second = "The twin panda cubs at Kelby zoo were named Mei and Lan by the keepers."
    assert headline("What were the twin panda cubs at Kelby zoo named?", first, second) == second
    assert headline("Who painted the bridge?", "Nothing here matches at all.") is None


def test_snippet_is_centred_on_the_answering_sentence() -> None:
    analyzer = default_analyzer()
    question = "Who won the chess final in Oslo?"
    filler = " ".join(f"Chess fans in Oslo filled hall number {n} for the final." for n in range(8))
    text = filler + " Magnus Carlsen won the chess final in Oslo on Sunday. " + filler
    asked = Asked.of(question, analyzer, {t: 1.0 for t in analyzer.terms(question)})
    shown = [scored(text, analyzer, asked)]
    snippet = window(shown[0], ranked(shown)[0], analyzer, asked.weights, limit=200)
    assert "Magnus Carlsen won" in snippet.text and len(snippet.text) < 420


def test_snippet_grows_toward_the_neighbour_that_answers_better() -> None:
    analyzer = default_analyzer()
    asked = Asked.of("Who opened the bridge?", analyzer, {"bridg": 1.0, "open": 1.0})
    text = (
        "Alpha came first here. Bravo came second. Carlos Diaz opened the bridge. "
        "Delta came fourth. Echo came fifth."
    )
    sentences = scored(text, analyzer, asked)
    assert len(sentences) == 5
    room = len("Bravo came second. Carlos Diaz opened the bridge.") + 2  # the best and one neighbour
    before = window(sentences, [0.0, 0.2, 1.0, 0.0, 0.0], analyzer, asked.weights, limit=room)
    assert before.text == "… Bravo came second. Carlos Diaz opened the bridge. …"
    tie = window(sentences, [0.0, 0.0, 1.0, 0.0, 0.0], analyzer, asked.weights, limit=room)
    assert tie.text == "… Carlos Diaz opened the bridge. Delta came fourth. …"  # after, on a tie


def test_the_titles_vote_for_the_names_they_hold() -> None:
    analyzer = default_analyzer()
    question = "Which company bought the Kelby stadium?"
    asked = Asked.of(question, analyzer, {t: 1.0 for t in analyzer.terms(question)})
    shown = [
        scored("Zenith staff watched as the Kelby stadium was bought this week.", analyzer, asked),
        scored("Acme finally bought the Kelby stadium this week after long talks.", analyzer, asked),
    ]
    assert best_sentence(shown, ranked(shown)) == (0, 0)  # the first passage, by its rank
    titles = [sentence(t, analyzer, asked) for t in ("Stadium news", "Acme buys Kelby stadium")]
    assert best_sentence(shown, ranked(shown, titles)) == (1, 0)  # the name the title gives
    assert best_sentence(shown, ranked(shown, titles[:1])) == (0, 0)  # a title naming nobody: no vote


LIONS = (
    "The Lions have played the most Thanksgiving Day games of any NFL team, 84 in all. "
    "Fans cheered the Lions in the stadium."
)


def test_headline_names_the_voted_answer_in_full() -> None:
    question = "Which NFL team has played the most games on Thanksgiving Day?"
    second = "The Detroit Lions have played the most games on Thanksgiving Day of any NFL team since 1934."
    assert headline(question, LIONS, second) == second


def test_a_name_with_no_fuller_form_keeps_its_whole_vote() -> None:
    question = "Which NFL team has played the most games on Thanksgiving Day?"
    second = "The Lions have played the most games on Thanksgiving Day of any NFL team since 1934."
    assert headline(question, LIONS, second) == LIONS.split(". ")[0] + "."


def test_full_name_words_are_the_words_of_names_of_several_words() -> None:
    common = default_analyzer().stopwords
    got = full_name_words("The Detroit Lions beat the Bears, LeBron James said in Los Angeles.", common)
    assert got == {"detroit", "lions", "lebron", "james", "los", "angeles"}
    assert full_name_words("The Lions won.", common) == frozenset()


def test_a_which_country_headline_names_a_country() -> None:
    question = "Which country did the rebels take over after its president fled to Russia?"
    first = "The rebels took over Damascus after President Assad fled to Russia, officials in Moscow said."
    second = "Rebels have taken over Syria, and its president fled to Russia."
    assert headline(question, first, second) == second
    assert headline(question, first) == first  # no country named: the best sentence still leads
