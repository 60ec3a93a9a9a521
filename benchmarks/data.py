"""The benchmark's inputs, prepared once per scale in a work folder outside the repository.

For every scale the same articles are written twice: as a newsbot corpus (one `.json` file per
article, the layout newsbot's incremental reindex is built for) and, for the other engines, as the
passages newsbot makes of them (`split_passages`, title words included), in a pickle. Nothing from
the source data is written into the repository.
"""

from __future__ import annotations

import gzip
import json
import pickle
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsbot.corpus.read import dedupe, read_file
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
}
MAIN = "215k"  # the scale of the head-to-head table


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


def prepare(articles: list[Article], scale: Scale, folder: Path, change_every: int = 100) -> dict[str, Any]:
    """Write a scale's inputs under `folder`; returns what the engines need to know about them.

    Files: `corpus/` (newsbot), `passages.pkl` (article of each passage, doc texts) and
    `changes.pkl` (every `change_every`-th article edited: its index and new doc texts).
    """
    corpus = folder / "corpus"
    article_of: list[int] = []
    docs: list[str] = []
    changes = []
    n = chars = 0
    for i, (article, pieces) in enumerate(select(articles, scale)):
        write_article(article_file(corpus, i), article)
        article_of.extend([i] * len(pieces))
        docs.extend(doc_text(article.title, p) for p in pieces)
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
    with (folder / "passages.pkl").open("wb") as fh:
        pickle.dump({"article_of": article_of, "docs": docs}, fh, protocol=pickle.HIGHEST_PROTOCOL)
    with (folder / "changes.pkl").open("wb") as fh:
        pickle.dump(changes, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "scale": scale.name,
        "articles": n,
        "passages": len(docs),
        "words": scale.words,
        "text_mb": round(chars / 1e6, 1),
        "changed": len(changes),
    }
