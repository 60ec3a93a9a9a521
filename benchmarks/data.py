"""The benchmark's inputs, prepared once per scale in a work folder outside the repository.

For every scale the same articles are written twice: as a newsbot corpus (one `.json` file per
article, the layout newsbot's incremental reindex is built for) and, for the other engines, as the
passages newsbot makes of them (`split_passages`, title words included), pickled in batches as they
are made (a run of newsbot alone skips them). Preparing holds one batch and the source articles,
not a scale's text: the 10M scale's corpus is ~11 GB. Nothing from the source data is written into
the repository.
"""

from __future__ import annotations

import gzip
import json
import pickle
import random
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsbot.corpus.dedupe import dedupe
from newsbot.corpus.read import read_file
from newsbot.records import Article
from newsbot.text.passages import split_passages

EDIT = "Editor's note: this article was updated after publication to correct a detail."
FILES_PER_FOLDER = 1000


@dataclass(frozen=True)
class Scale:
    """One row of the scaling table: which articles, how long the passages, how many copies."""

    name: str
    passages: int | None = None  # the first articles giving at least this many passages; None: all
    words: int = 200  # passage length, as newsbot's `target_words`
    copies: int = 1  # >1: the real articles plus (copies - 1) copies with their words shuffled


SCALES = {
    "10k": Scale("10k", passages=10_000),
    "50k": Scale("50k", passages=50_000),
    "215k": Scale("215k"),
    "452k": Scale("452k", words=100),
    "2M": Scale("2M", copies=10),
    "10M": Scale("10M", copies=47),  # ~10.1M passages, 1.23M articles; asked for by name only
}
DEFAULT_SCALES = ("10k", "50k", "215k", "452k", "2M")
MAIN = "215k"  # the scale of the head-to-head table
DOCS_BATCH = 50_000  # passages per pickled batch of `passages.pkl`


def read_articles(path: Path) -> list[Article]:
    """The articles of a corpus file as newsbot reads them (repairs and duplicates handled)."""
    read = read_file(path, path.parent)
    articles, _ = dedupe(read.articles)
    return articles


def read_questions(path: Path, limit: int) -> list[str]:
    """The first `limit` questions (field `question`) of a .jsonl or .jsonl.gz file."""
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    questions = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                question = json.loads(line).get("question", "").strip()
                if question:
                    questions.append(question)
            if len(questions) >= limit:
                break
    return questions


def shuffled(article: Article, copy: int) -> Article:
    """A synthetic article: the words of each paragraph (and of the title) shuffled."""
    rng = random.Random(f"{article.id}/{copy}")

    def mix(text: str) -> str:
        words = text.split()
        rng.shuffle(words)
        return " ".join(words)

    return Article(
        id=f"{article.id}~syn{copy}",
        title=mix(article.title),
        text="\n\n".join(mix(p) for p in article.text.split("\n\n") if p.strip()),
        source=article.source,
        date=article.date,
        url=article.url,
        author=article.author,
    )


def select(articles: list[Article], scale: Scale) -> Iterator[tuple[Article, list[str]]]:
    """The articles of a scale, one by one, each with its passages."""
    total = 0
    for copy in range(scale.copies):
        for article in articles:
            if scale.passages is not None and total >= scale.passages:
                return
            a = article if copy == 0 else shuffled(article, copy)
            pieces = split_passages(a.text, scale.words)
            total += len(pieces)
            yield a, pieces


def doc_text(title: str, passage: str) -> str:
    """A passage as the other engines index it: newsbot counts the title's words in every passage."""
    return f"{title}\n\n{passage}"


def article_file(corpus: Path, i: int) -> Path:
    return corpus / f"{i // FILES_PER_FOLDER:04d}" / f"{i:07d}.json"


def write_article(path: Path, article: Article) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "id": article.id,
                "title": article.title,
                "text": article.text,
                "date": article.date.isoformat() if article.date else None,
                "source": article.source,
                "url": article.url,
                "author": article.author,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )


def edited(article: Article) -> Article:
    """The same article after a small edit: a paragraph appended."""
    return Article(
        id=article.id,
        title=article.title,
        text=f"{article.text}\n\n{EDIT}",
        source=article.source,
        date=article.date,
        url=article.url,
        author=article.author,
    )


def prepare(
    articles: list[Article], scale: Scale, folder: Path, change_every: int = 100, docs: bool = True
) -> dict[str, Any]:
    """Write a scale's inputs under `folder`; returns what the engines need to know about them.

    Files: `corpus/` (newsbot), `passages.pkl` (with `docs`: batches of the article of each
    passage and its doc text, see `read_docs`) and `changes.pkl` (every `change_every`-th article
    edited: its index and new doc texts). Memory stays bounded whatever the scale: passages are
    written a batch at a time.
    """
    corpus = folder / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)  # an interrupted preparation's files
    folder.mkdir(parents=True, exist_ok=True)
    article_of: list[int] = []
    batch: list[str] = []
    changes = []
    n = chars = passages = 0
    with ExitStack() as stack:
        out = stack.enter_context((folder / "passages.pkl").open("wb")) if docs else None
        for i, (article, pieces) in enumerate(select(articles, scale)):
            write_article(article_file(corpus, i), article)
            passages += len(pieces)
            if out is not None:
                article_of.extend([i] * len(pieces))
                batch.extend(doc_text(article.title, p) for p in pieces)
                if len(batch) >= DOCS_BATCH:
                    pickle.dump((article_of, batch), out, protocol=pickle.HIGHEST_PROTOCOL)
                    article_of, batch = [], []
            if i % change_every == 0:
                new = edited(article)
                changes.append(
                    {
                        "article": i,
                        "file": str(article_file(corpus, i)),
                        "json": new,
                        "old": article,
                        "docs": [doc_text(new.title, p) for p in split_passages(new.text, scale.words)],
                    }
                )
            n, chars = i + 1, chars + len(article.text)
        if out is not None and batch:
            pickle.dump((article_of, batch), out, protocol=pickle.HIGHEST_PROTOCOL)
    with (folder / "changes.pkl").open("wb") as fh:
        pickle.dump(changes, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "scale": scale.name,
        "articles": n,
        "passages": passages,
        "words": scale.words,
        "text_mb": round(chars / 1e6, 1),
        "changed": len(changes),
        "docs": docs,
    }


def read_docs(folder: Path) -> tuple[list[int], list[str]]:
    """`passages.pkl`'s batches joined: the article of each passage, and its doc text."""
    article_of: list[int] = []
    docs: list[str] = []
    with (folder / "passages.pkl").open("rb") as fh:
        while True:
            try:
                of, texts = pickle.load(fh)
            except EOFError:
                break
            article_of.extend(of)
            docs.extend(texts)
    return article_of, docs


def prepared(folder: Path, scale: Scale, change_every: int, docs: bool) -> dict[str, Any] | None:
    """What a kept work folder's earlier preparation of this scale wrote, if it fits this run."""
    try:
        info: dict[str, Any] = json.loads((folder / "prepared.json").read_text())
    except (OSError, ValueError):
        return None
    fits = (
        info.get("scale") == scale.name
        and info.get("words") == scale.words
        and info.get("change_every") == change_every
        and (info.get("docs") or not docs)
        and info.get("copies") == scale.copies
        and info.get("limit") == scale.passages
    )
    return info if fits else None
