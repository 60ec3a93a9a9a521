"""`newsbot eval`: answer labelled questions as the bot would and report the quality measures.

Registered in `newsbot.cli` with `app.command("eval")(eval_command)`. Indexes of corpora other than
the configured one (and of BEIR data sets) are kept under `<data dir>/eval/`, one per corpus and
build setting, and rebuilt only when the corpus files change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from newsbot.answers import RANKING, Ranking
from newsbot.cli.common import DataOpt, JsonOpt, flag, load_settings, progress_bar
from newsbot.corpus.listing import scan
from newsbot.engine import Engine
from newsbot.errors import IndexCorrupt, NewsbotError
from newsbot.index.bm25 import BM25Params
from newsbot.index.build import build_index
from newsbot.index.fingerprint import fingerprint
from newsbot.index.store import Index
from newsbot.quality.beir import BeirReport, convert_corpus, evaluate_beir
from newsbot.quality.questions import EvalReport, evaluate, load_questions
from newsbot.settings import Settings
from newsbot.text.analyzer import default_analyzer
from newsbot.text.passages import TARGET_WORDS

console = Console()
errors = Console(stderr=True)
Reporter = Any  # (stage, done, total) -> None


def eval_command(
    questions: Annotated[
        Path | None,
        typer.Argument(help="Questions: .jsonl or .jsonl.gz in the RealTime QA format.", show_default=False),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="Articles: a corpus file or folder (default: the configured corpus)."),
    ] = None,
    as_of: Annotated[
        bool,
        flag(
            "--as-of",
            help="Answer each question with only the articles dated on or before its "
            "question_date, as the bot would have then.",
        ),
    ] = False,
    k: Annotated[int, typer.Option("-k", help="Passages shown per answer.", min=1, max=10)] = 3,
    as_json: JsonOpt = False,
    beir: Annotated[
        Path | None,
        typer.Option(
            "--beir",
            help="Also check BM25 on a BEIR data set folder (e.g. ../shared/data/beir_scifact): "
            "nDCG@10 and R@100.",
        ),
    ] = None,
    beir_split: Annotated[str, typer.Option("--beir-split", help="The BEIR qrels split.")] = "test",
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N questions.", min=1)] = None,
    k1: Annotated[float | None, typer.Option("--k1", help="Experiment: BM25 k1.")] = None,
    b: Annotated[float | None, typer.Option("--b", help="Experiment: BM25 b.")] = None,
    passage_words: Annotated[
        int | None, typer.Option("--passage-words", help="Experiment: passage length in words.", min=20)
    ] = None,
    recency_boost: Annotated[
        float | None, typer.Option("--recency-boost", help="Experiment: recency prior boost (0: off).", min=0)
    ] = None,
    recency_days: Annotated[
        float | None,
        typer.Option("--recency-days", help="Experiment: recency prior time scale in days.", min=0.1),
    ] = None,
    rebuild: Annotated[bool, flag("--rebuild", help="Rebuild the evaluation index.")] = False,
    data_dir: DataOpt = None,
) -> None:
    """Measure answer quality on labelled questions (and BM25 on a BEIR data set)."""
    if questions is None and beir is None:
        raise NewsbotError("Give a questions file (.jsonl or .jsonl.gz), --beir FOLDER, or both.")
    settings = load_settings(data_dir=data_dir)
    defaults = BM25Params()
    params = BM25Params(
        k1=defaults.k1 if k1 is None else k1, b=defaults.b if b is None else b, epsilon=defaults.epsilon
    )
    target = passage_words or TARGET_WORDS
    ranking = Ranking(
        boost=RANKING.boost if recency_boost is None else recency_boost,
        days=RANKING.days if recency_days is None else recency_days,
    )
    custom = params != defaults or target != TARGET_WORDS or rebuild
    out: dict[str, Any] = {"questions": None, "beir": None}
    if questions is not None:
        qs, bad = load_questions(questions)
        qs = qs[:limit] if limit else qs
        if corpus is None and not custom:
            index = _configured_index(settings)
        else:
            root = corpus or settings.corpus_dir
            index = _cached_index(root, settings, params, target, rebuild)
        with progress_bar() as tell:
            report = evaluate(
                index,
                default_analyzer(),
                qs,
                as_of=as_of,
                k=k,
                ranking=ranking,
                questions_file=str(questions),
                unreadable=bad,
                progress=lambda done, total: tell("answering", done, total),
            )
        out["questions"] = report
        if not as_json:
            render_eval(console, report)
    if beir is not None:
        root = convert_corpus(
            beir, settings.data_dir / "eval" / f"beir-{_key(beir.resolve())}" / "corpus.jsonl"
        )
        index = _cached_index(root, settings, params, target, rebuild)
        beir_report = evaluate_beir(index, default_analyzer(), beir, beir_split, ranking)
        out["beir"] = beir_report
        if not as_json:
            render_beir(console, beir_report)
    if as_json:
        print(
            json.dumps(
                {key: dataclasses.asdict(v) if v is not None else None for key, v in out.items()},
                ensure_ascii=False,
                indent=2,
            )
        )


# --- indexes -------------------------------------------------------------------------------------


def _configured_index(settings: Settings) -> Index:
    """The bot's own index of the configured corpus, built first if there is none."""
    engine = Engine.open(settings, build_if_missing=False)
    if engine.version == "none":
        with progress_bar() as tell:
            engine.reindex(progress=tell, here=True)
    return engine.index


def _cached_index(root: Path, settings: Settings, params: BM25Params, target: int, rebuild: bool) -> Index:
    """An index of `root` under `<data dir>/eval/`, rebuilt (incrementally) when the files change."""
    if not root.exists():
        raise NewsbotError(f"The corpus {root} does not exist.")
    folder = settings.data_dir / "eval" / _key(root.resolve(), params, target)
    previous = None if rebuild else _load(folder)
    analysis = fingerprint(default_analyzer(), target, params)
    if previous is not None and previous.analysis == analysis and _unchanged(previous, root):
        return previous
    with progress_bar() as tell:
        index, _ = build_index(
            root, default_analyzer(), previous=previous, params=params, target_words=target, progress=tell
        )
        tell("saving", 0, 1)
        return index.save(folder)


def _load(folder: Path) -> Index | None:
    """The cached index, or None when there is none or it cannot be read (damaged: built again)."""
    try:
        return Index.load(folder)
    except IndexCorrupt:
        return None


def _unchanged(index: Index, root: Path) -> bool:
    """Whether the corpus files are the ones `index` was built from (same sizes and times)."""
    paths, _ = scan(root)
    if len(paths) != len(index.files):
        return False
    for path in paths:
        rel = path.name if root.is_file() else path.relative_to(root).as_posix()
        state = index.files.get(rel)
        stat = path.stat()
        if state is None or (state.size, state.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            return False
    return True


def _key(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


# --- rendering -----------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def render_eval(out: Console, report: EvalReport) -> None:
    mode = "as of each question's date" if report.as_of else "all articles (as the bot answers today)"
    table = Table(title=f"newsbot eval · {report.questions_file} · {mode}")
    table.add_column("measure")
    for label in report.labels:
        table.add_column(f"{label.label} ({label.questions:,} q)", justify="right")
    rows: list[tuple[str, list[str]]] = [
        (key, [_fmt(lr.recall.get(key)) for lr in report.labels]) for key in ("R@1", "R@5", "R@10", "R@100")
    ]
    rows += [
        ("MRR@10", [_fmt(lr.mrr10) for lr in report.labels]),
        (f"answer in shown passages (top {report.k})", [_fmt(lr.answer_shown) for lr in report.labels]),
        ("answer in headline", [_fmt(lr.answer_in_headline) for lr in report.labels]),
        ("answer in snippets or headline", [_fmt(lr.answer_in_snippet) for lr in report.labels]),
        ("headline is a question", [_fmt(lr.headline_question) for lr in report.labels]),
        ("no-match rate", [_fmt(lr.no_match_rate) for lr in report.labels]),
        ("no-match right", [_fmt(lr.no_match_right) for lr in report.labels]),
        ("found answers hidden by no-match", [_fmt(lr.answers_hidden) for lr in report.labels]),
    ]
    for name, cells in rows:
        table.add_row(name, *cells)
    out.print(table)
    lat = report.latency_ms
    out.print(
        f"latency per answer: mean {lat['mean']:.1f} ms, p50 {lat['p50']:.1f} ms, "
        f"p95 {lat['p95']:.1f} ms, max {lat['max']:.1f} ms"
    )
    out.print(
        f"index {report.index_version}: {report.passages:,} passages of {report.corpus}; "
        f"BM25 k1={report.bm25['k1']} b={report.bm25['b']}; recency prior "
        f"boost {report.ranking['recency_boost']} over {report.ranking['recency_days']} days"
    )
    gone = report.unanswerable
    if gone is not None:
        out.print(
            f"unanswerable questions answered “no match”: {_fmt(gone.real_no_match)} of {gone.real:,} "
            f"dev questions asked the day before their news ({gone.skipped:,} dropped: a shown passage "
            f"held the answer, or nothing older; held out: {_fmt(gone.held_no_match)} of {gone.held:,}); "
            f"{_fmt(gone.made_up_no_match)} of {gone.made_up} made-up questions"
        )
    skipped = (f"{report.unreadable} unusable lines skipped",) if report.unreadable else ()
    for note in report.notes + skipped:
        out.print(f"[dim]{note}[/]")


def render_beir(out: Console, report: BeirReport) -> None:
    out.print(
        f"BEIR {report.dataset} ({report.split}, {report.queries:,} queries, "
        f"{report.documents:,} documents in {report.passages:,} passages): "
        f"[bold]nDCG@10 {report.ndcg10:.3f}[/], R@100 {report.recall100:.3f} "
        f"(BM25 k1={report.bm25['k1']} b={report.bm25['b']}; {report.ms_per_query:.1f} ms/query; "
        "published Lucene BM25: nDCG@10 0.665–0.679 on SciFact)"
    )
