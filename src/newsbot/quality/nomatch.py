"""Fitting the no-match model (`answers/nomatch.py`) on the development questions.

`python -m newsbot.quality.nomatch INDEX_FOLDER QUESTIONS` (an index of the RealTime QA corpus,
e.g. the one `newsbot eval --corpus … --data-dir D` keeps under `D/eval/<key>`): the evidence of
every labelled question whose shown passages hold its answer (should match) and of every question
asked the day before its news that nothing shown answers (should not, `quality/unanswerable.py`),
a logistic model fitted on the tuning questions only (`quality/split.py`), its cut placed to hide
HIDE of the tuning questions' found answers; prints the held-out figures and the constants.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from newsbot.answers.answer import consider
from newsbot.answers.evidence import Evidence, Model
from newsbot.errors import BadQuestion
from newsbot.index.store import Index
from newsbot.quality.questions import contains_answer, load_questions
from newsbot.quality.split import is_held_out
from newsbot.quality.unanswerable import early_questions
from newsbot.records import Filters
from newsbot.text.analyzer import Analyzer, default_analyzer

HIDE = 0.05  # share of the tuning questions' found answers the cut may hide
FLOOR = 0.5  # the coverage below which no passage matches, whatever the rest of the evidence
L2 = 0.01  # ridge penalty on the standardised weights
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Case:
    """One question's evidence and what it should get."""

    evidence: Evidence
    answerable: bool  # its shown passages hold the answer (False: asked before its news)
    held: bool  # held out of the fit
    labels: tuple[str, ...] = ()  # "strong", "weak": the label sets it belongs to


def fit(cases: Sequence[Case], hide: float = HIDE, l2: float = L2, floor: float = FLOOR) -> Model:
    """A logistic model of `answerable` over the standardised evidence of the tuning cases, cut to
    hide `hide` of their answerable ones (those under the coverage `floor` included)."""
    tune = [c for c in cases if not c.held]
    x = np.array([c.evidence.values for c in tune], dtype=np.float64)
    y = np.array([c.answerable for c in tune], dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.c_[np.ones(len(x)), (x - mean) / scale]
    w = np.zeros(z.shape[1])
    ridge = l2 * np.diag(np.r_[0.0, np.ones(z.shape[1] - 1)])
    for _ in range(50):  # Newton's method
        p = 1 / (1 + np.exp(-(z @ w)))
        gradient = z.T @ (p - y) + ridge @ w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + ridge
        w -= np.linalg.solve(hessian, gradient)
    model = Model(tuple(mean.tolist()), tuple(scale.tolist()), tuple(w[1:].tolist()), float(w[0]), 0.0)
    found = sorted(
        model.score(c.evidence) if c.evidence.coverage >= floor else -np.inf for c in tune if c.answerable
    )
    cut = float(found[max(int(hide * len(found)) - 1, 0)]) if found else 0.0
    return Model(model.mean, model.scale, model.weights, model.bias, cut, floor)


@dataclass(frozen=True)
class Figures:
    """Declined unanswerable questions and hidden found answers, over some cases."""

    declined: float
    hidden: float
    unanswerable: int
    answerable: int


def figures(model: Model, cases: Sequence[Case]) -> Figures:
    gone = [not model.matches(c.evidence) for c in cases if not c.answerable]
    hidden = [not model.matches(c.evidence) for c in cases if c.answerable]
    return Figures(
        declined=sum(gone) / max(len(gone), 1),
        hidden=sum(hidden) / max(len(hidden), 1),
        unanswerable=len(gone),
        answerable=len(hidden),
    )


def cases(index: Index, analyzer: Analyzer, questions_file: Path, k: int = 3) -> list[Case]:
    """The evidence of the labelled questions whose answer is shown and of the unanswerable ones,
    as `newsbot eval --as-of` asks them."""
    questions, _ = load_questions(questions_file)
    out = []
    labelled = [(n, q) for n, q in enumerate(questions) if q.strong or q.weak]
    for n, q in labelled:
        if q.day is None or not q.answer:
            continue
        labels = tuple(name for name, ids in (("strong", q.strong), ("weak", q.weak)) if ids)
        case = _case(index, analyzer, q.question, q.answer, Filters(until=q.day), k, is_held_out(n), labels)
        if case is not None and case.answerable:
            out.append(case)
    early = early_questions(index, [(q.question, q.answer, q.strong + q.weak) for _, q in labelled])
    for n, e in enumerate(early):
        case = _case(index, analyzer, e.question, e.answer, Filters(until=e.day), k, is_held_out(n))
        if case is not None and not case.answerable:
            out.append(case)
    return out


def _case(
    index: Index,
    analyzer: Analyzer,
    question: str,
    answer_text: str,
    filters: Filters,
    k: int,
    held: bool,
    labels: tuple[str, ...] = (),
) -> Case | None:
    try:
        got = consider(index, analyzer, question, k, filters)
    except BadQuestion:
        return None
    if got.evidence is None or not got.stories:
        return None
    texts = [f"{index.article_of(p).title}\n{index.passage_text(p)}" for p, _, _ in got.stories]
    texts += [index.passage_text(got.second[0])] if got.second else []  # quoted under the best one
    return Case(got.evidence, contains_answer(" \n ".join(texts), answer_text), held, labels)


def main(argv: Sequence[str]) -> None:  # pragma: no cover - a research command
    index = Index.load(Path(argv[0]))
    if index is None:
        raise SystemExit(f"No index in {argv[0]}")
    every = cases(index, default_analyzer(), Path(argv[1]))
    model = fit(every)
    for name, subset in (
        ("tune", [c for c in every if not c.held]),
        ("held", [c for c in every if c.held]),
        ("all", every),
    ):
        f = figures(model, subset)
        print(
            f"{name}: {f.declined:.3f} of {f.unanswerable} declined, {f.hidden:.3f} of {f.answerable} hidden"
        )
    for label in ("strong", "weak"):
        found = [c for c in every if label in c.labels]
        print(f"hidden ({label}): {figures(model, found).hidden:.3f} of {len(found)}")
    print(repr(model))


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
