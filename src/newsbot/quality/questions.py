"""Measuring answer quality on labelled news questions (`newsbot eval`).

Questions come in the RealTime QA format (`../shared/data/realtimeqa/questions_dev.jsonl.gz`): one
JSON object per line with `id`, `question`, `answer`, `question_date` and two label sets of article
ids: `relevant_doc_ids` (strong: the articles that answer the question) and
`answer_in_retrieved_doc_ids` (weak: web-search results that contain the answer string).

Each question is answered exactly as the bot answers it (`newsbot.answers.answer.answer`, same ranking and
no-match rule); with `as_of`, only articles dated on or before the question's date count and recency
is measured from that date, as the bot would have answered that day. Reported per label set:
article-level recall at 1/5/10/100 and MRR@10 (computed by `ir_measures`), the share of questions
whose answer string appears in the passages shown (and in their snippets), the no-match rate and how
often a no-match was right, and latency.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from newsbot.answers import RANKING, Ranking, answer, for_question, question_terms, rank, reference_day
from newsbot.answers.snippets import is_question
from newsbot.answers.when import search_filters
from newsbot.errors import BadQuestion, NewsbotError
from newsbot.index.store import Index
from newsbot.quality.split import held_out
from newsbot.quality.unanswerable import Unanswerable, early_questions, measure, shown_text
from newsbot.records import Filters
from newsbot.text.analyzer import Analyzer

CUTOFFS = (1, 5, 10, 100)
DEPTH = max(CUTOFFS)  # articles ranked per question for the recall measures
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Question:
    """One labelled question."""

    id: str
    question: str
    answer: str
    day: date | None
    strong: tuple[str, ...] = ()  # relevant_doc_ids
    weak: tuple[str, ...] = ()  # answer_in_retrieved_doc_ids


@dataclass(frozen=True)
class Outcome:
    """How the bot did on one question."""

    id: str
    ranked: tuple[str, ...]  # article ids, best first, at most DEPTH
    matched: bool  # False: the bot said "no match"
    answer_shown: bool  # the answer string is in a shown passage (or its article's title)
    answer_in_snippet: bool  # ... in the shown snippets or the headline
    ms: float  # time the bot took to answer
    answer_in_headline: bool = False  # ... in the headline (the best sentence shown first)
    headline_question: bool = False  # the headline is itself a question


@dataclass(frozen=True)
class LabelReport:
    """The measures over one set of questions."""

    label: str  # strong, weak or all
    questions: int
    recall: dict[str, float]  # "R@10" -> mean recall of the labelled articles
    mrr10: float | None
    answer_shown: float  # share of questions whose answer string is in the k shown passages
    answer_in_snippet: float  # ... in the snippets or the headline
    no_match_rate: float
    no_match_right: float | None  # share of no-matches where the shown passages lack the answer
    answer_in_headline: float = 0.0  # share whose answer string is in the headline
    headline_question: float = 0.0  # share of headlines shown that are themselves a question
    answers_hidden: float = 0.0  # share of found answers (in shown passages) hidden by a no-match


@dataclass(frozen=True)
class EvalReport:
    """Everything `newsbot eval` reports."""

    questions_file: str
    corpus: str
    index_version: str
    passages: int
    as_of: bool
    k: int
    ranking: dict[str, float]
    bm25: dict[str, float]
    labels: tuple[LabelReport, ...]
    latency_ms: dict[str, float]
    unreadable: int = 0  # questions skipped: no question text or no answer
    unanswerable: Unanswerable | None = None  # with as_of: questions asked before their news
    notes: tuple[str, ...] = field(default=())


# --- questions -----------------------------------------------------------------------------------


def load_questions(path: Path) -> tuple[list[Question], int]:
    """The questions of a .jsonl or .jsonl.gz file, and how many lines were unusable."""
    if not path.is_file():
        raise NewsbotError(f"No questions file at {path}.")
    opener: Callable[..., Any] = gzip.open if path.name.lower().endswith(".gz") else open
    questions: list[Question] = []
    bad = 0
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    questions.append(_question(json.loads(line)))
                except (ValueError, TypeError, KeyError, AttributeError):
                    bad += 1
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise NewsbotError(f"Cannot read the questions in {path}: {exc}") from None
    if not questions:
        raise NewsbotError(
            f"{path} holds no usable questions (one JSON object per line with "
            "`id`, `question`, `answer`, `question_date`)."
        )
    return questions, bad


def _question(row: dict[str, Any]) -> Question:
    text, answer_text = str(row["question"]).strip(), str(row.get("answer") or "").strip()
    if not text:
        raise ValueError("no question")
    raw_day = row.get("question_date")
    return Question(
        id=str(row["id"]),
        question=text,
        answer=answer_text,
        day=date.fromisoformat(str(raw_day)[:10]) if raw_day else None,
        strong=tuple(str(d) for d in row.get("relevant_doc_ids") or ()),
        weak=tuple(str(d) for d in row.get("answer_in_retrieved_doc_ids") or ()),
    )


# --- answering -----------------------------------------------------------------------------------

_NOT_WORD = re.compile(r"[^\w%$]+")


def normalise(text: str) -> str:
    """Lowercase words (and % and $) separated by single spaces, padded: for whole-word matching."""
    return " " + " ".join(_NOT_WORD.sub(" ", text.casefold()).split()) + " "


def contains_answer(text: str, answer_text: str) -> bool:
    """Whether `answer_text` occurs in `text` as whole words, ignoring case and punctuation."""
    wanted = normalise(answer_text)
    return bool(wanted.strip()) and wanted in normalise(text)


def run_question(
    index: Index, analyzer: Analyzer, q: Question, *, as_of: bool, k: int = 3, ranking: Ranking = RANKING
) -> Outcome:
    """Answer one question as the bot would (on its date when `as_of`) and rank DEPTH articles."""
    day = q.day if as_of else None
    filters = Filters(until=day) if day else Filters()
    try:
        result = answer(index, analyzer, q.question, k=k, filters=filters, ranking=ranking)
        term_ids = index.term_ids(question_terms(analyzer, q.question))
    except BadQuestion:
        return Outcome(q.id, (), False, False, False, 0.0)
    # the dates the question names narrow the ranking as in `answer`
    searched, period = search_filters(q.question, filters, day or date.today())
    filters, day = searched, (searched.until if period else None) or day
    prior = for_question(q.question, ranking)  # as in `answer`
    found = rank(index, term_ids, DEPTH, filters, 1, reference_day(index, day), prior)
    ranked = tuple(index.article_of(p).id for p, _ in found)
    shown = shown_text(index, result)
    headline = result.best_sentence.text if result.matched and result.best_sentence else ""
    snippets = " \n ".join([q.text for h in result.hits for q in h.quotes] + [headline])
    return Outcome(
        q.id,
        ranked,
        result.matched,
        contains_answer(shown, q.answer),
        contains_answer(snippets, q.answer),
        result.took_ms,
        answer_in_headline=contains_answer(headline, q.answer),
        headline_question=is_question(headline),
    )


def run_questions(
    index: Index,
    analyzer: Analyzer,
    questions: Sequence[Question],
    *,
    as_of: bool,
    k: int = 3,
    ranking: Ranking = RANKING,
    progress: Progress | None = None,
) -> list[Outcome]:
    if questions:  # warm up (stems, memory-mapped pages) as a running bot is: latency as it sees it
        run_question(index, analyzer, questions[0], as_of=as_of, k=k, ranking=ranking)
    outcomes = []
    for n, q in enumerate(questions):
        if progress and n % 50 == 0:
            progress(n, len(questions))
        outcomes.append(run_question(index, analyzer, q, as_of=as_of, k=k, ranking=ranking))
    if progress:
        progress(len(questions), len(questions))
    return outcomes


# --- measures ------------------------------------------------------------------------------------


def _ir_measures() -> Any:
    try:
        import ir_measures
    except ImportError:  # pragma: no cover - depends on the environment
        raise NewsbotError("`newsbot eval` needs ir-measures: pip install -e '.[eval]'") from None
    return ir_measures


def ranking_measures(labels: dict[str, Iterable[str]], runs: dict[str, Sequence[str]]) -> dict[str, float]:
    """Mean R@1/5/10/100 and MRR@10 over the labelled questions, by ir_measures (trec_eval).

    Every labelled question counts: one with nothing retrieved scores 0, not "skipped". Ranks are
    passed as strictly decreasing scores, so trec_eval's tie-breaking cannot reorder them.
    """
    ir = _ir_measures()
    measures = [ir.R @ c for c in CUTOFFS] + [ir.RR @ 10]
    qrels = [ir.Qrel(qid, doc, 1) for qid, docs in labels.items() for doc in set(docs)]
    run = [ir.ScoredDoc(qid, "\x00none", -1.0) for qid in labels]  # keeps empty runs counted
    for qid in labels:
        run += [ir.ScoredDoc(qid, doc, float(DEPTH - r)) for r, doc in enumerate(runs.get(qid, ()))]
    values = ir.calc_aggregate(measures, qrels, run) if qrels else {}
    out = {f"R@{c}": float(values.get(ir.R @ c, 0.0)) for c in CUTOFFS}
    out["MRR@10"] = float(values.get(ir.RR @ 10, 0.0))
    return out


def label_report(
    label: str,
    questions: Sequence[Question],
    outcomes: dict[str, Outcome],
    labels: dict[str, Iterable[str]] | None,
) -> LabelReport:
    """The measures over `questions`; recall and MRR only when `labels` are given."""
    got = [outcomes[q.id] for q in questions]
    n = max(len(got), 1)
    misses = [o for o in got if not o.matched]
    headlines = [o for o in got if o.matched]
    found = [o for o in got if o.answer_shown]
    measures = ranking_measures(labels, {o.id: o.ranked for o in got}) if labels else {}
    return LabelReport(
        label=label,
        questions=len(got),
        recall={key: value for key, value in measures.items() if key.startswith("R@")},
        mrr10=measures.get("MRR@10"),
        answer_shown=sum(o.answer_shown for o in got) / n,
        answer_in_snippet=sum(o.answer_in_snippet for o in got) / n,
        no_match_rate=len(misses) / n,
        no_match_right=sum(not o.answer_shown for o in misses) / len(misses) if misses else None,
        answer_in_headline=sum(o.answer_in_headline for o in got) / n,
        headline_question=sum(o.headline_question for o in headlines) / max(len(headlines), 1),
        answers_hidden=sum(not o.matched for o in found) / max(len(found), 1),
    )


def evaluate(
    index: Index,
    analyzer: Analyzer,
    questions: Sequence[Question],
    *,
    as_of: bool,
    k: int = 3,
    ranking: Ranking = RANKING,
    questions_file: str = "",
    progress: Progress | None = None,
    unreadable: int = 0,
) -> EvalReport:
    """Answer every question and measure, per label set (strong, weak) and over all questions."""
    began = time.perf_counter()
    outcomes = {
        o.id: o
        for o in run_questions(
            index, analyzer, questions, as_of=as_of, k=k, ranking=ranking, progress=progress
        )
    }
    strong = [q for q in questions if q.strong]
    weak = [q for q in questions if q.weak]
    held = held_out(questions)
    held_strong, held_weak = [q for q in held if q.strong], [q for q in held if q.weak]
    reports = [
        label_report("strong", strong, outcomes, {q.id: q.strong for q in strong}),
        label_report("strong, held out", held_strong, outcomes, {q.id: q.strong for q in held_strong}),
        label_report("weak", weak, outcomes, {q.id: q.weak for q in weak}),
        label_report("weak, held out", held_weak, outcomes, {q.id: q.weak for q in held_weak}),
        label_report("all", [q for q in questions if q.answer], outcomes, None),
    ]
    times = sorted(o.ms for o in outcomes.values() if o.ms > 0) or [0.0]
    notes = [f"{len(questions)} questions answered in {time.perf_counter() - began:.1f} s"]
    unanswerable = None
    if as_of:
        labelled = [(q.question, q.answer, q.strong + q.weak) for q in questions if q.strong or q.weak]
        unanswerable = measure(index, analyzer, early_questions(index, labelled), contains_answer, k)
    missing_dates = sum(q.day is None for q in questions)
    if as_of and missing_dates:
        notes.append(f"{missing_dates} questions have no question_date: answered with every article")
    return EvalReport(
        questions_file=questions_file,
        corpus=index.corpus,
        index_version=index.version,
        passages=index.n_live,
        as_of=as_of,
        k=k,
        ranking={"recency_boost": ranking.boost, "recency_days": ranking.days},
        bm25={"k1": index.params.k1, "b": index.params.b, "epsilon": index.params.epsilon},
        labels=tuple(r for r in reports if r.questions),
        latency_ms={
            "mean": statistics.fmean(times),
            "p50": _quantile(times, 0.5),
            "p95": _quantile(times, 0.95),
            "max": times[-1],
        },
        unreadable=unreadable,
        unanswerable=unanswerable,
        notes=tuple(notes),
    )


def _quantile(ordered: Sequence[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
