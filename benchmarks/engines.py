"""The engines under test, behind one small interface: build, open, query, reindex.

Each engine indexes the same passages (see `benchmarks.data`), with its natural analyzer or with
newsbot's tokens, and answers top-10 queries. Only what a user of each library would write; the
settings are the libraries' defaults except BM25's k1 and b, set to newsbot's (`BM25Params`) where
the library lets one (tantivy's are fixed at k1=1.2, b=0.75).
"""

from __future__ import annotations

import pickle
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from newsbot.index.bm25 import BM25Params

PARAMS = BM25Params()  # newsbot's

K = 10  # results per query
Hit = tuple[int, float]  # (passage id, score)


@dataclass(frozen=True)
class Spec:
    """One configuration of one engine: a column of the results."""

    name: str
    engine: str  # newsbot | rank_bm25 | bm25s | tantivy
    tokens: str = "natural"  # natural | newsbot
    threads: int = 1  # newsbot: analysis processes (0: automatic); tantivy: writer threads
    phases: tuple[str, ...] = ("build", "query", "throughput", "reindex")
    note: str = ""


SPECS = [
    Spec(
        "newsbot",
        "newsbot",
        "newsbot",
        threads=0,
        phases=("build", "query", "throughput", "reindex_named", "reindex", "additions"),
        note="nltk Snowball analyzer; analysis in one process per core",
    ),
    Spec(
        "newsbot-1proc",
        "newsbot",
        "newsbot",
        threads=1,
        phases=("build",),
        note="the same, analysis in one process",
    ),
    Spec("rank-bm25", "rank_bm25", note="BM25Okapi; tokens: text.lower().split()"),
    Spec(
        "rank-bm25+nb",
        "rank_bm25",
        "newsbot",
        phases=("build", "query"),
        note="BM25Okapi on newsbot's tokens: the reference scores",
    ),
    Spec("bm25s", "bm25s", note="method lucene (default), PyStemmer english, stopwords en"),
    Spec("bm25s+nb", "bm25s", "newsbot", phases=("build", "query"), note="on newsbot's tokens"),
    Spec("tantivy", "tantivy", note="en_stem tokenizer, 1 writer thread, text stored"),
    Spec("tantivy-2t", "tantivy", threads=2, phases=("build",), note="the same, 2 writer threads"),
    Spec(
        "tantivy+nb",
        "tantivy",
        "newsbot",
        phases=("build", "query"),
        note="newsbot's tokens, whitespace tokenizer",
    ),
]
MODULES = {"newsbot": "newsbot", "rank_bm25": "rank_bm25", "bm25s": "bm25s", "tantivy": "tantivy"}
EXTRA_MODULES = {"bm25s": ["Stemmer"]}


class Timer:
    """Named durations in seconds."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - began


def load_docs(work: Path) -> tuple[list[int], list[str]]:
    from benchmarks.data import read_docs

    return read_docs(work)


def load_changes(work: Path) -> list[dict[str, Any]]:
    with (work / "changes.pkl").open("rb") as fh:
        changes: list[dict[str, Any]] = pickle.load(fh)
        return changes


def newsbot_tokens(docs: list[str]) -> list[list[str]]:
    from newsbot.text.analyzer import Analyzer

    analyzer = Analyzer()
    return [analyzer.terms(d) for d in docs]


def top_k(scores: np.ndarray, k: int = K) -> list[Hit]:
    """The k best (passage, score) pairs by score, then passage order; zero scores left out."""
    nonzero = np.flatnonzero(scores)
    best = nonzero[np.argpartition(-scores[nonzero], k)[:k]] if len(nonzero) > k else nonzero
    if len(best):  # ties at the cut: take every passage that reaches the k-th score, then sort
        best = nonzero[scores[nonzero] >= scores[best].min()]
    best = best[np.lexsort((best, -scores[best]))][:k]
    return [(int(d), float(scores[d])) for d in best]


class Engine:
    """The interface each engine implements. `work` is the scale's prepared folder."""

    def __init__(self, spec: Spec, work: Path, words: int) -> None:
        self.spec, self.work, self.words = spec, work, words
        self.edited = False  # after `reindex`: the corpus with `changes.pkl` applied

    def build(self, index_dir: Path, timer: Timer) -> dict[str, Any]:
        raise NotImplementedError

    def open(self, index_dir: Path) -> Any:
        raise NotImplementedError

    def query(self, handle: Any, question: str) -> Any:
        """Answer one question; the timed part. Returns what `hits` turns into passage ids."""
        raise NotImplementedError

    def hits(self, handle: Any, answer: Any) -> list[Hit]:
        return list(answer)

    def reindex(self, index_dir: Path, timer: Timer) -> dict[str, Any]:
        """Bring the index up to date after `changes.pkl`; by default, a full rebuild."""
        shutil.rmtree(index_dir, ignore_errors=True)
        self.edited = True
        return {"incremental": False, **self.build(index_dir, timer)}

    def additions(self, index_dir: Path, timer: Timer) -> dict[str, Any]:
        """Add a few new articles to the saved index and answer from them (newsbot only)."""
        raise NotImplementedError

    def _docs(self) -> tuple[list[int], list[str]]:
        article_of, docs = load_docs(self.work)
        if self.edited:  # the corpus after the edit, in the same order
            changes = {c["article"]: c["docs"] for c in load_changes(self.work)}
            new_of, new_docs = [], []
            for i, (a, d) in enumerate(zip(article_of, docs, strict=True)):
                if a in changes:
                    if i == 0 or article_of[i - 1] != a:
                        new_of.extend([a] * len(changes[a]))
                        new_docs.extend(changes[a])
                else:
                    new_of.append(a)
                    new_docs.append(d)
            article_of, docs = new_of, new_docs
        return article_of, docs


class Newsbot(Engine):
    def build(self, index_dir: Path, timer: Timer) -> dict[str, Any]:
        return self._build(index_dir, timer, None)

    def _build(
        self, index_dir: Path, timer: Timer, previous: Any, only: list[Path] | None = None
    ) -> dict[str, Any]:
        from newsbot.index.build import build_index
        from newsbot.text.analyzer import Analyzer

        stages: dict[str, float] = {}  # seconds per stage of `build_index`'s progress reports
        current: list[Any] = ["", time.perf_counter()]  # stage, since

        def progress(stage: str, done: int, total: int) -> None:
            now = time.perf_counter()
            if stage != current[0]:
                if current[0]:
                    stages[current[0]] = now - current[1]
                current[:] = [stage, now]

        with timer("build"):
            index, report = build_index(
                self.work / "corpus",
                Analyzer(),
                previous=previous,
                target_words=self.words,
                progress=progress,
                workers=self.spec.threads or None,
                only=only,
            )
            stages[current[0]] = time.perf_counter() - current[1]
        timer.seconds.update(
            {
                "read": stages.get("reading", 0.0),
                "analysis": stages.get("analysing", 0.0),
                "index": stages.get("indexing", 0.0),
            }
        )
        with timer("save"):
            index.save(index_dir, keep=0)
        return {
            "passages": index.n_live,
            "terms": len(index.terms),
            "postings": sum(int(s.inverted.indptr[-1]) for s in index.segments),
            "segments": len(index.segments),
            "reanalysed": report.added + report.updated,
            "reused": report.unchanged,
        }

    def open(self, index_dir: Path) -> Any:
        from newsbot.index.store import Index
        from newsbot.text.analyzer import default_analyzer

        index = Index.load(index_dir)
        assert index is not None, f"no index under {index_dir}"
        return index, default_analyzer().knowing(index.stems)  # as the engine: its stems known

    def query(self, handle: Any, question: str) -> Any:
        index, analyzer = handle
        return index.search(index.term_ids(analyzer.terms(question)), K, per_article=0)

    def hits(self, handle: Any, answer: Any) -> list[Hit]:
        index, _ = handle
        for passage, _ in answer:  # what an answer shows, as tantivy's stored documents
            index.passage_text(passage)
        return list(answer)

    def reindex(self, index_dir: Path, timer: Timer, named: bool = False) -> dict[str, Any]:
        """`named`: told which files changed (as the other engines are told which documents, and
        as `newsbot index FILE...` or a feed poller does it), on a copy of the index: no scan."""
        from benchmarks.data import write_article
        from newsbot.index.store import Index

        changes = load_changes(self.work)
        target = index_dir.with_name(f"{index_dir.name}-named") if named else index_dir
        if named:  # the scan's reindex then starts from the same index
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(index_dir, target)
        for change in changes:  # the edited articles' files are rewritten
            write_article(Path(change["file"]), change["json"])
        try:
            files = [Path(change["file"]) for change in changes] if named else None
            return {"incremental": True, **self._build(target, timer, Index.load(target), files)}
        finally:  # as they were, for the next configuration
            for change in changes:
                write_article(Path(change["file"]), change["old"])
            if named:
                shutil.rmtree(target, ignore_errors=True)

    def additions(self, index_dir: Path, timer: Timer) -> dict[str, Any]:
        from benchmarks.additions import additions

        return additions(self.work, self.words, index_dir)


class RankBM25(Engine):
    def tokenize(self, docs: list[str]) -> list[list[str]]:
        if self.spec.tokens == "newsbot":
            return newsbot_tokens(docs)
        return [d.lower().split() for d in docs]

    def build(self, index_dir: Path, timer: Timer) -> dict[str, Any]:
        from rank_bm25 import BM25Okapi

        _, docs = self._docs()
        with timer("analysis"):
            tokens = self.tokenize(docs)
        del docs
        with timer("index"):
            bm25 = BM25Okapi(tokens, k1=PARAMS.k1, b=PARAMS.b, epsilon=PARAMS.epsilon)
        index_dir.mkdir(parents=True, exist_ok=True)
        with timer("save"), (index_dir / "bm25.pkl").open("wb") as fh:
            pickle.dump(bm25, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return {"passages": len(tokens)}

    def open(self, index_dir: Path) -> Any:
        with (index_dir / "bm25.pkl").open("rb") as fh:
            bm25 = pickle.load(fh)
        if self.spec.tokens == "newsbot":
            from newsbot.text.analyzer import default_analyzer

            return bm25, default_analyzer().terms
        return bm25, lambda q: q.lower().split()

    def query(self, handle: Any, question: str) -> Any:
        bm25, tokenize = handle
        return top_k(bm25.get_scores(tokenize(question)))


class BM25S(Engine):
    def _stemmer(self) -> Any:
        import Stemmer

        return Stemmer.Stemmer("english")

    def build(self, index_dir: Path, timer: Timer) -> dict[str, Any]:
        import bm25s

        _, docs = self._docs()
        with timer("analysis"):
            if self.spec.tokens == "newsbot":
                tokens: Any = newsbot_tokens(docs)
            else:
                tokens = bm25s.tokenize(docs, stopwords="en", stemmer=self._stemmer(), show_progress=False)
        n = len(docs)
        del docs
        with timer("index"):
            retriever = bm25s.BM25(k1=PARAMS.k1, b=PARAMS.b)
            retriever.index(tokens, show_progress=False)
        with timer("save"):
            retriever.save(str(index_dir), show_progress=False)
        return {"passages": n}

    def open(self, index_dir: Path) -> Any:
        import bm25s

        retriever = bm25s.BM25.load(str(index_dir), show_progress=False)
        if self.spec.tokens == "newsbot":
            from newsbot.text.analyzer import default_analyzer

            terms = default_analyzer().terms
            return retriever, lambda q: [terms(q)]
        stemmer = self._stemmer()
        return retriever, lambda q: bm25s.tokenize(
            [q], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
        )

    def query(self, handle: Any, question: str) -> Any:
        retriever, tokenize = handle
        tokens = tokenize(question)
        if not tokens[0]:
            return [], []
        return retriever.retrieve(tokens, k=K, show_progress=False, n_threads=1)

    def hits(self, handle: Any, answer: Any) -> list[Hit]:
        docs, scores = answer
        if not len(docs):
            return []
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


class Tantivy(Engine):
    def _schema(self) -> Any:
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_text_field(
            "body", stored=True, tokenizer_name="whitespace" if self.spec.tokens == "newsbot" else "en_stem"
        )
        builder.add_integer_field("pid", stored=True, fast=True)
        builder.add_integer_field("art", indexed=True)
        return builder.build()

    def build(self, index_dir: Path, timer: Timer) -> dict[str, Any]:
        import tantivy

        article_of, docs = self._docs()
        texts: list[str] = docs
        if self.spec.tokens == "newsbot":
            with timer("analysis"):
                texts = [" ".join(t) for t in newsbot_tokens(docs)]
        index_dir.mkdir(parents=True, exist_ok=True)
        with timer("index"):
            index = tantivy.Index(self._schema(), path=str(index_dir))
            writer = index.writer(num_threads=self.spec.threads)
            for pid, (a, text) in enumerate(zip(article_of, texts, strict=True)):
                writer.add_document(tantivy.Document(body=text, pid=pid, art=a))
            writer.commit()
            writer.wait_merging_threads()
        return {"passages": len(docs)}

    def open(self, index_dir: Path) -> Any:
        import tantivy

        index = tantivy.Index.open(str(index_dir))
        searcher = index.searcher()
        if self.spec.tokens == "newsbot":
            from newsbot.text.analyzer import default_analyzer

            terms = default_analyzer().terms
            return index, searcher, lambda q: " ".join(terms(q))
        return index, searcher, lambda q: q

    def query(self, handle: Any, question: str) -> Any:
        index, searcher, text = handle
        query, _ = index.parse_query_lenient(text(question), ["body"])
        return searcher.search(query, K, count=False).hits

    def hits(self, handle: Any, answer: Any) -> list[Hit]:
        _, searcher, _ = handle
        return [(int(searcher.doc(address)["pid"][0]), float(score)) for score, address in answer]

    def reindex(self, index_dir: Path, timer: Timer) -> dict[str, Any]:
        import tantivy

        changes = load_changes(self.work)
        texts: list[list[str]] = [c["docs"] for c in changes]
        first_new = len(load_docs(self.work)[1])  # new passages get new ids
        with timer("build"):
            if self.spec.tokens == "newsbot":
                texts = [[" ".join(t) for t in newsbot_tokens(docs)] for docs in texts]
            index = tantivy.Index.open(str(index_dir))
            writer = index.writer(num_threads=self.spec.threads)
            pid = first_new
            for change, docs in zip(changes, texts, strict=True):
                writer.delete_documents_by_term("art", change["article"])
                for text in docs:
                    writer.add_document(tantivy.Document(body=text, pid=pid, art=change["article"]))
                    pid += 1
            writer.commit()
            writer.wait_merging_threads()
        return {"incremental": True, "passages": sum(len(t) for t in texts)}


ENGINES: dict[str, Callable[[Spec, Path, int], Engine]] = {
    "newsbot": Newsbot,
    "rank_bm25": RankBM25,
    "bm25s": BM25S,
    "tantivy": Tantivy,
}


def make(spec: Spec, work: Path, words: int) -> Engine:
    return ENGINES[spec.engine](spec, work, words)
