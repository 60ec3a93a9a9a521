"""`newsbot eval`: question loading, measures, as-of answering, the recency prior and the BEIR check.

Fixtures are tiny made-up articles and questions in the RealTime QA format, written here.
"""

import dataclasses
import gzip
import json
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from newsbot.answers import Ranking, answer, reference_day
from newsbot.cli.eval import eval_command
from newsbot.errors import NewsbotError
from newsbot.index.build import build_index
from newsbot.index.store import Index
from newsbot.quality.questions import (
    Question,
    contains_answer,
    evaluate,
    is_question,
    load_questions,
    ranking_measures,
    run_question,
)
from newsbot.quality.split import held_out, is_held_out
from newsbot.text.analyzer import default_analyzer
from tests.conftest import shared

ARTICLES = [
    {
        "id": "flood-old",
        "title": "River Almond floods the old town",
        "date": "2021-03-01",
        "text": "The River Almond burst its banks on Sunday and flooded the old town of Kelby. "
        "Mayor Ruth Dale said the clean-up would take weeks.",
    },
    {
        "id": "flood-new",
        "title": "River Almond floods the old town again",
        "date": "2022-06-05",
        "text": "The River Almond burst its banks on Sunday and flooded the old town of Kelby, "
        "a year after the last flood. Mayor Tom Price called in the army.",
    },
    {
        "id": "zoo",
        "title": "Zoo welcomes twin pandas",
        "date": "2022-06-03",
        "text": "The city zoo of Kelby welcomed twin panda cubs, named Mei and Lan, on Friday.",
    },
    {
        "id": "budget",
        "title": "Council passes budget",
        "date": "2022-07-20",
        "text": "Kelby council passed its budget after a long night; the army parade was cut.",
    },
    {"id": "undated", "title": "Panda facts", "text": "Pandas eat bamboo for most of the day."},
]

QUESTIONS = [
    {
        "id": "q1",
        "question": "Which mayor called in the army after the River Almond flooded Kelby this week?",
        "answer": "Tom Price",
        "question_date": "2022-06-10",
        "relevant_doc_ids": ["flood-new"],
        "answer_in_retrieved_doc_ids": ["flood-new"],
    },
    {
        "id": "q2",
        "question": "What were the twin panda cubs at the Kelby zoo named?",
        "answer": "Mei and Lan",
        "question_date": "2022-06-10",
        "relevant_doc_ids": ["zoo"],
        "answer_in_retrieved_doc_ids": [],
    },
    {
        "id": "q3",
        "question": "What did the council cut from its budget?",
        "answer": "army parade",
        "question_date": "2022-06-10",
        "relevant_doc_ids": [],
        "answer_in_retrieved_doc_ids": ["budget"],
    },
    {
        "id": "q4",
        "question": "Who won the snooker world final?",
        "answer": "Nobody Known",
        "question_date": "2022-06-10",
        "relevant_doc_ids": [],
        "answer_in_retrieved_doc_ids": [],
    },
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(json.dumps(a) for a in ARTICLES) + "\n")
    return path


@pytest.fixture
def index(corpus: Path) -> Index:
    return build_index(corpus, default_analyzer())[0]


@pytest.fixture
def questions_file(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for q in QUESTIONS:
            fh.write(json.dumps(q) + "\n")
        fh.write("not json\n")
    return path


def questions() -> list[Question]:
    return [
        Question(
            q["id"],
            q["question"],
            q["answer"],
            date.fromisoformat(q["question_date"]),
            tuple(q["relevant_doc_ids"]),
            tuple(q["answer_in_retrieved_doc_ids"]),
        )
        for q in QUESTIONS
    ]


def test_load_questions_gz_and_plain(questions_file: Path, tmp_path: Path) -> None:
    loaded, bad = load_questions(questions_file)
    assert loaded == questions() and bad == 1
    plain = tmp_path / "q.jsonl"
    plain.write_text(json.dumps(QUESTIONS[0]) + "\n\n" + json.dumps({"id": "x", "question": " "}) + "\n")
    assert load_questions(plain) == (questions()[:1], 1)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(NewsbotError, match="no usable questions"):
        load_questions(empty)
    with pytest.raises(NewsbotError, match="No questions file"):
        load_questions(tmp_path / "missing.jsonl")


def test_answer_string_matching() -> None:
    assert contains_answer("It renewed ‘Squid Game’ for a second season.", "“Squid Game”")
    assert contains_answer("Only 9% of plastic is recycled", "9%")
    assert not contains_answer("Only 19% of plastic is recycled", "9%")
    assert not contains_answer("Nikes and Adidas", "Nike")
    assert not contains_answer("anything", "  ")


def test_is_question() -> None:
    assert is_question("Which animal was named after him?") and is_question('He asked: "why?" ')
    assert not is_question("The snake was named after him.") and not is_question("")


def test_ranking_measures_count_every_labelled_question() -> None:
    labels = {"a": ["d1"], "b": ["d2", "d3"], "c": ["d4"]}
    runs = {"a": ["d1", "x"], "b": ["x", "d3"] + [f"y{i}" for i in range(10)] + ["d2"]}
    m = ranking_measures(labels, runs)  # "c" retrieved nothing: it scores 0, it is not skipped
    assert m["R@1"] == pytest.approx(1 / 3)
    assert m["R@5"] == pytest.approx((1 + 0.5) / 3)
    assert m["R@100"] == pytest.approx(2 / 3)
    assert m["MRR@10"] == pytest.approx((1 + 0.5) / 3)


def test_as_of_hides_later_articles(index: Index) -> None:
    q3 = questions()[2]  # the budget article is dated after the question
    assert "budget" not in run_question(index, default_analyzer(), q3, as_of=True).ranked
    assert run_question(index, default_analyzer(), q3, as_of=False).ranked[0] == "budget"


def test_recency_prior_prefers_the_news_of_the_day(index: Index) -> None:
    question = "River Almond flooded Kelby old town"
    fresh = answer(index, default_analyzer(), question, as_of=date(2022, 6, 10))
    assert fresh.hits[0].citation.article_id == "flood-new"
    then = answer(index, default_analyzer(), question, as_of=date(2021, 3, 2))
    assert then.hits[0].citation.article_id == "flood-old"  # the later one gets no boost
    plain = answer(index, default_analyzer(), question, ranking=Ranking(boost=0.0))
    assert plain.hits[0].score < fresh.hits[0].score <= plain.hits[0].score * 1.5 + 1e-9


def test_reference_day_is_the_newest_news_up_to_as_of(index: Index) -> None:
    assert reference_day(index, date(2022, 6, 10)) == date(2022, 6, 5).toordinal()
    assert reference_day(index, date(2030, 1, 1)) == date(2022, 7, 20).toordinal()
    assert reference_day(index, date(2000, 1, 1)) is None


def test_evaluate_reports_every_label_set(index: Index) -> None:
    report = evaluate(index, default_analyzer(), questions(), as_of=True, k=3)
    by = {r.label: r for r in report.labels}
    assert (by["strong"].questions, by["weak"].questions, by["all"].questions) == (2, 2, 4)
    assert by["strong"].recall["R@1"] == 1.0 and by["strong"].mrr10 == 1.0
    assert by["strong"].answer_shown == 1.0
    assert by["strong"].answer_in_headline == 1.0 and by["strong"].headline_question == 0.0
    assert by["strong"].answers_hidden == 0.0
    assert by["weak"].recall["R@100"] == 0.5  # the budget article is after the question date
    assert by["all"].mrr10 is None and by["all"].recall == {}
    assert by["all"].no_match_rate == 0.5 and by["all"].no_match_right == 1.0  # q3 and q4
    assert report.latency_ms["max"] >= report.latency_ms["p50"] > 0
    assert "strong, held out" not in by  # 4 questions: none is a 5th
    later = evaluate(index, default_analyzer(), questions(), as_of=False)
    assert {r.label: r for r in later.labels}["weak"].recall["R@1"] == 1.0


def test_evaluate_reports_the_held_out_questions_apart(index: Index) -> None:
    first = questions()[0]
    fifth = dataclasses.replace(first, id="q5", question=first.question.replace("?", " now?"))
    report = evaluate(index, default_analyzer(), [*questions(), fifth], as_of=True)
    by = {r.label: r for r in report.labels}
    assert by["strong"].questions == 3
    assert by["strong, held out"].questions == 1 and by["weak, held out"].questions == 1
    assert by["strong, held out"].recall["R@1"] == 1.0  # measured over the held-out question only


def test_held_out_is_every_fifth() -> None:
    assert held_out(list(range(12))) == [4, 9]
    assert [n for n in range(12) if is_held_out(n)] == [4, 9]
    assert held_out([1, 2, 3]) == []


def test_eval_command_json_and_beir(corpus: Path, questions_file: Path, tmp_path: Path) -> None:
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    docs = [
        {"_id": "d1", "title": "Pandas", "text": "Giant pandas eat bamboo shoots."},
        {"_id": "d2", "title": "Rivers", "text": "Rivers flood after heavy rain."},
        {"_id": "d3", "title": "Bridges", "text": "Old bridges need repairs."},
        {"_id": "d4", "title": "Trains", "text": "Night trains are back in fashion."},
    ]
    with gzip.open(beir / "corpus.jsonl.gz", "wt") as fh:
        fh.write("\n".join(json.dumps(d) for d in docs) + "\n")
    (beir / "queries.jsonl").write_text(
        json.dumps({"_id": "1", "text": "what do pandas eat"})
        + "\n"
        + json.dumps({"_id": "2", "text": "unjudged"})
        + "\n"
    )
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n")
    app = typer.Typer()
    app.command("eval")(eval_command)
    app.command("other")(lambda: None)  # more than one command: `eval` is a subcommand, as in newsbot
    args = [
        "eval",
        str(questions_file),
        "--corpus",
        str(corpus),
        "--as-of",
        "--json",
        "--beir",
        str(beir),
        "--data-dir",
        str(tmp_path / "data"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    strong = next(r for r in data["questions"]["labels"] if r["label"] == "strong")
    assert strong["recall"]["R@10"] == 1.0 and data["questions"]["as_of"] is True
    assert data["beir"]["ndcg10"] == 1.0 and data["beir"]["queries"] == 1
    again = CliRunner().invoke(
        app, ["eval", str(questions_file), "--corpus", str(corpus), "--data-dir", str(tmp_path / "data")]
    )
    assert again.exit_code == 0, again.output  # the human table, from the cached index
    assert "MRR@10" in again.stdout and "no-match right" in again.stdout
    indexes = [p for p in (tmp_path / "data" / "eval").iterdir() if (p / "CURRENT").exists()]
    assert len(indexes) == 2  # the questions' corpus and the BEIR corpus
    missing = CliRunner().invoke(app, ["eval", "--data-dir", str(tmp_path / "data")])
    assert missing.exit_code != 0 and "questions file" in str(missing.exception)


@pytest.mark.realdata
def test_scifact_ndcg_matches_published_bm25(tmp_path: Path) -> None:
    folder = shared("beir_scifact")
    from newsbot.quality.beir import convert_corpus, evaluate_beir

    root = convert_corpus(folder, tmp_path / "corpus.jsonl")
    index, _ = build_index(root, default_analyzer())
    report = evaluate_beir(index, default_analyzer(), folder)
    assert report.queries == 300 and report.documents == 5183
    assert 0.665 <= report.ndcg10 <= 0.72  # published Lucene BM25: 0.665 to 0.679


def test_unanswerable_questions_asked_before_their_news(index: Index) -> None:
    from newsbot.quality.unanswerable import early_questions, measure

    early = early_questions(index, [(q.question, q.answer, q.strong + q.weak) for q in questions()])
    assert [e.day for e in early] == [date(2022, 6, 4), date(2022, 6, 2), date(2022, 7, 19)]
    report = measure(
        index, default_analyzer(), early, contains_answer, made_up=["Who is the president of Mars?"]
    )
    assert report.real + report.skipped == 3
    assert report.made_up == 1 and report.made_up_no_match == 1.0
    assert report.real_no_match is not None and 0.0 <= report.real_no_match <= 1.0
    assert report.held == 0 and report.held_no_match is None  # 3 early questions: none is a 5th
