"""A BEIR check (`newsbot eval --beir FOLDER`): is BM25 implemented right?

A BEIR data set folder holds `corpus.jsonl[.gz]` (`_id`, `title`, `text`), `queries.jsonl` (`_id`,
`text`) and `qrels/<split>.tsv` (`query-id corpus-id score`, with a header line). The corpus is
indexed by newsbot's own pipeline (its analyzer, passages, title words in every passage), each query
is ranked as the bot ranks (the best passage stands for its document) and nDCG@10 and R@100 are
computed by `ir_measures`. Published Lucene BM25 on SciFact: nDCG@10 0.665 to 0.679.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsbot.answers import RANKING, Ranking, rank, reference_day
from newsbot.errors import NewsbotError
from newsbot.index.store import Index
from newsbot.quality.questions import DEPTH, _ir_measures
from newsbot.text.analyzer import Analyzer


@dataclass(frozen=True)
class BeirReport:
    """nDCG@10 and R@100 of one BEIR split."""

    dataset: str
    split: str
    queries: int
    documents: int
    passages: int
    ndcg10: float
    recall100: float
    bm25: dict[str, float]
    ms_per_query: float


def corpus_file(folder: Path) -> Path:
    for name in ("corpus.jsonl.gz", "corpus.jsonl"):
        if (folder / name).is_file():
            return folder / name
    raise NewsbotError(f"{folder} is not a BEIR data set folder: no corpus.jsonl[.gz] in it.")


def convert_corpus(folder: Path, target: Path) -> Path:
    """The BEIR corpus as a newsbot .jsonl (`_id` becomes `id`), written once to `target`."""
    source = corpus_file(folder)
    if target.is_file() and target.stat().st_mtime_ns >= source.stat().st_mtime_ns:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    opener: Callable[..., Any] = gzip.open if source.name.endswith(".gz") else open
    tmp = target.with_suffix(".tmp")
    with opener(source, "rt", encoding="utf-8") as fh, tmp.open("w", encoding="utf-8") as out:
        for line in fh:
            if line.strip():
                doc = json.loads(line)
                out.write(
                    json.dumps(
                        {
                            "id": str(doc["_id"]),
                            "title": doc.get("title") or "",
                            "text": doc.get("text") or "",
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
    tmp.replace(target)
    return target


def load_split(folder: Path, split: str) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """The queries of a split that have judgements, and the judgements (query -> doc -> grade)."""
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        raise NewsbotError(f"No qrels for split {split!r}: {qrels_path} is missing.")
    qrels: dict[str, dict[str, int]] = {}
    for line in qrels_path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].strip().lstrip("-").isdigit():
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries: dict[str, str] = {}
    with (folder / "queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                if str(row["_id"]) in qrels:
                    queries[str(row["_id"])] = row["text"]
    return queries, qrels


def evaluate_beir(
    index: Index, analyzer: Analyzer, folder: Path, split: str = "test", ranking: Ranking = RANKING
) -> BeirReport:
    """nDCG@10 and R@100 of newsbot's ranking on one split of a BEIR data set."""
    ir = _ir_measures()
    queries, qrels = load_split(folder, split)
    reference = reference_day(index, None)  # BEIR documents are undated: no recency prior
    run = []
    began = time.perf_counter()
    for qid, text in queries.items():
        found = rank(index, index.term_ids(analyzer.terms(text)), DEPTH, reference=reference, ranking=ranking)
        run.append(ir.ScoredDoc(qid, "\x00none", -1.0))
        run += [ir.ScoredDoc(qid, index.article_of(p).id, float(DEPTH - r)) for r, (p, _) in enumerate(found)]
    took = (time.perf_counter() - began) * 1000 / max(len(queries), 1)
    judged = [ir.Qrel(q, d, g) for q, docs in qrels.items() if q in queries for d, g in docs.items()]
    values = ir.calc_aggregate([ir.nDCG @ 10, ir.R @ 100], judged, run)
    return BeirReport(
        dataset=folder.name,
        split=split,
        queries=len(queries),
        documents=len(index.articles),
        passages=index.n_live,
        ndcg10=float(values[ir.nDCG @ 10]),
        recall100=float(values[ir.R @ 100]),
        bm25={"k1": index.params.k1, "b": index.params.b, "epsilon": index.params.epsilon},
        ms_per_query=took,
    )
