"""newsbot's small-additions measure: a running process adds 10 new articles to the saved index
and answers from them, as a feed poller does (it knows which files it wrote).

Three rounds in one process: the first pays what a process pays once (reading the index's
shared segment files to check their checksums); the next ones are the steady state. Each round is
timed from the call to `build_index(..., only=...)` to the first answer from the saved version
(`Index.save` included: written, flushed, published, older versions pruned). The new articles
are the last 10 of the corpus with new ids and a paragraph appended, written into the corpus
folder and deleted afterwards.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.data import EDIT, write_article

ROUNDS = 3
PER_ROUND = 10


def additions(work: Path, words: int, index_dir: Path) -> dict[str, Any]:
    import nltk.stem.snowball  # noqa: F401 - a long-running poller imported it long before

    from benchmarks.data import read_articles
    from newsbot.index.build import build_index
    from newsbot.index.search import warm
    from newsbot.index.store import Index
    from newsbot.text.analyzer import Analyzer, default_analyzer

    corpus = work / "corpus"
    sources = sorted(corpus.rglob("*.json"))[-PER_ROUND:]
    base = [a for path in sources for a in read_articles(path)][:PER_ROUND]
    index = Index.load(index_dir)
    assert index is not None, f"no index under {index_dir}"
    warm(index)  # the compiled search loaded (~0.4 s), as a bot does at start (`Engine.warm`)
    written: list[Path] = []
    rounds: list[dict[str, Any]] = []
    try:
        for r in range(1, ROUNDS + 1):
            paths = []
            for n, article in enumerate(base):
                path = corpus / "zz-added" / f"{r}-{n}.json"
                new = replace(article, id=f"{article.id}~added{r}", text=f"{article.text}\n\n{EDIT} ({r})")
                write_article(path, new)
                paths.append(path)
            written += paths
            began = time.perf_counter()
            built, report = build_index(corpus, Analyzer(), previous=index, target_words=words, only=paths)
            saved = time.perf_counter()
            index = built.save(index_dir, keep=0)
            published = time.perf_counter()
            analyzer = default_analyzer().knowing(index.stems)
            top = index.search(index.term_ids(analyzer.terms(base[r - 1].title)), 10, per_article=1)
            answered = time.perf_counter()
            ids = {
                a.id: n for n, a in enumerate(index.articles[-PER_ROUND:], len(index.articles) - PER_ROUND)
            }
            new = [ids.get(f"{a.id}~added{r}") for a in base]  # indexed, with live passages
            found = all(n is not None and index.article_end[n] > index.article_start[n] for n in new)
            rounds.append(
                {
                    "seconds": answered - began,
                    "build": saved - began,
                    "save": published - saved,
                    "answer": answered - published,
                    "added": report.added,
                    "found": found and len(top) > 0,
                    "segments": len(index.segments),
                }
            )
    finally:
        for path in written:
            path.unlink(missing_ok=True)
    return {"rounds": rounds}
