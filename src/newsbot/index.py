"""The saved index: BM25 postings, passages and article metadata, loaded without re-analysis.

Layout under the index directory: one folder per build (named by its version) and a `CURRENT`
file naming the live one. A build is written to a hidden temporary folder, flushed, renamed, and
only then does `CURRENT` switch (by atomic `os.replace`), so a crash mid-write leaves the previous
index in place and usable. Large arrays are memory-mapped: start-up reads only what a query needs.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from newsbot.bm25 import BM25Params, Forward, Postings
from newsbot.records import Article, Filters, Skipped

FORMAT = 1
_ARRAYS = ("fwd_indptr", "fwd_terms", "fwd_counts", "post_indptr", "post_docs", "post_weights",
           "passage_article", "passage_position", "passage_day", "passage_source", "text_offsets")


@dataclass(frozen=True)
class FileState:
    """What a corpus file looked like when indexed, to skip re-reading it when unchanged."""

    size: int
    mtime_ns: int
    article_ids: tuple[str, ...]
    skipped: tuple[Skipped, ...] = ()  # reported again while the file is unchanged


@dataclass(frozen=True)
class Index:
    """Everything a query needs, plus what an incremental reindex reuses."""

    version: str
    built_at: str
    corpus: str
    params: BM25Params
    terms: tuple[str, ...]  # term id -> term
    vocab: dict[str, int]  # term -> term id
    forward: Forward
    postings: Postings
    articles: tuple[Article, ...]  # metadata only: `text` is empty, passages hold the text
    article_start: npt.NDArray[np.int64]  # article i owns passages article_start[i]:[i + 1]
    passage_article: npt.NDArray[np.int32]
    passage_position: npt.NDArray[np.int32]
    passage_day: npt.NDArray[np.int32]  # date.toordinal(), 0 when unknown
    passage_source: npt.NDArray[np.int32]  # index into `sources`, -1 when unknown
    sources: tuple[str, ...]
    texts: bytes | np.memmap[Any, np.dtype[np.uint8]]
    text_offsets: npt.NDArray[np.int64]
    files: dict[str, FileState]
    size_bytes: int = 0

    @property
    def n_passages(self) -> int:
        return len(self.passage_article)

    def passage_text(self, passage: int) -> str:
        start, end = int(self.text_offsets[passage]), int(self.text_offsets[passage + 1])
        return bytes(self.texts[start:end]).decode("utf-8")

    def term_ids(self, terms: list[str]) -> list[int]:
        """Term ids of the query terms the corpus knows, repeats kept."""
        return [self.vocab[t] for t in terms if t in self.vocab]

    def search(self, term_ids: list[int], k: int, filters: Filters = Filters(),
               per_article: int = 1) -> list[tuple[int, float]]:
        """The best (passage, score) pairs, best first, at most `per_article` per article."""
        if not term_ids or not self.n_passages:
            return []
        scores = self.postings.scores(term_ids)
        if filters.active:
            scores[~self.filter_mask(filters)] = 0.0
        candidates = np.flatnonzero(scores)
        want = k * max(per_article, 1)
        limit = want * 4
        while True:
            if len(candidates) > limit:
                top = candidates[np.argpartition(-scores[candidates], limit)[:limit]]
            else:
                top = candidates
            top = top[np.lexsort((top, -scores[top]))]  # score desc, then passage order
            picked = _pick(top, self.passage_article, k, per_article)
            if len(picked) >= k or len(top) == len(candidates):
                return [(int(p), float(scores[p])) for p in picked]
            limit *= 4

    def filter_mask(self, filters: Filters) -> npt.NDArray[np.bool_]:
        mask = np.ones(self.n_passages, dtype=bool)
        if filters.since:
            mask &= self.passage_day >= filters.since.toordinal()
        if filters.until:
            mask &= (self.passage_day <= filters.until.toordinal()) & (self.passage_day > 0)
        if filters.source:
            wanted = [i for i, s in enumerate(self.sources) if s.lower() == filters.source.lower()]
            mask &= np.isin(self.passage_source, wanted)
        return mask

    def article_of(self, passage: int) -> Article:
        return self.articles[int(self.passage_article[passage])]

    # --- persistence ---------------------------------------------------------------------------

    def save(self, index_dir: Path, keep: int = 1) -> Path:
        """Write atomically as a new version folder, then point `CURRENT` at it."""
        index_dir.mkdir(parents=True, exist_ok=True)
        final = index_dir / self.version
        tmp = index_dir / f".tmp-{self.version}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        arrays = {
            "fwd_indptr": self.forward.indptr, "fwd_terms": self.forward.terms,
            "fwd_counts": self.forward.counts, "post_indptr": self.postings.indptr,
            "post_docs": self.postings.doc_ids, "post_weights": self.postings.weights,
            "passage_article": self.passage_article, "passage_position": self.passage_position,
            "passage_day": self.passage_day, "passage_source": self.passage_source,
            "text_offsets": self.text_offsets,
        }
        for name, array in arrays.items():
            _write(tmp / f"{name}.npy", lambda fh, a=array: np.save(fh, np.asarray(a)))
        _write(tmp / "texts.bin", lambda fh: fh.write(bytes(self.texts)))
        _write(tmp / "articles.jsonl", lambda fh: fh.write(_articles_jsonl(self).encode()))
        meta = {
            "format": FORMAT, "version": self.version, "built_at": self.built_at,
            "corpus": self.corpus, "params": asdict(self.params), "terms": list(self.terms),
            "sources": list(self.sources),
            "files": {p: [s.size, s.mtime_ns, list(s.article_ids),
                          [[k.where, k.reason, k.repaired] for k in s.skipped]]
                      for p, s in self.files.items()},
        }
        _write(tmp / "meta.json", lambda fh: fh.write(json.dumps(meta).encode()))
        _fsync_dir(tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        pointer = index_dir / "CURRENT.tmp"
        _write(pointer, lambda fh: fh.write(self.version.encode()))
        os.replace(pointer, index_dir / "CURRENT")
        _fsync_dir(index_dir)
        _prune(index_dir, self.version, keep)
        return final

    @classmethod
    def load(cls, index_dir: Path) -> Index | None:
        """The live index under `index_dir`, or None when there is none yet."""
        try:
            version = (index_dir / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        folder = index_dir / version
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != FORMAT:
            return None
        a = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
        articles, starts = _read_articles(folder / "articles.jsonl")
        terms = tuple(meta["terms"])
        texts = folder / "texts.bin"
        return cls(
            version=meta["version"], built_at=meta["built_at"], corpus=meta["corpus"],
            params=BM25Params(**meta["params"]), terms=terms,
            vocab={t: i for i, t in enumerate(terms)},
            forward=Forward(a["fwd_indptr"], a["fwd_terms"], a["fwd_counts"]),
            postings=Postings(a["post_indptr"], a["post_docs"], a["post_weights"],
                              len(a["passage_article"])),
            articles=articles, article_start=starts,
            passage_article=a["passage_article"], passage_position=a["passage_position"],
            passage_day=a["passage_day"], passage_source=a["passage_source"],
            sources=tuple(meta["sources"]),
            texts=np.memmap(texts, dtype=np.uint8, mode="r") if texts.stat().st_size else b"",
            text_offsets=a["text_offsets"],
            files={p: FileState(s, m, tuple(ids), tuple(Skipped(*k) for k in notes))
                   for p, (s, m, ids, notes) in meta["files"].items()},
            size_bytes=sum(f.stat().st_size for f in folder.iterdir()),
        )


def _pick(order: npt.NDArray[np.int64], article_of: npt.NDArray[np.int32], k: int,
          per_article: int) -> list[int]:
    picked: list[int] = []
    taken: dict[int, int] = {}
    for p in order.tolist():
        a = int(article_of[p])
        if per_article <= 0 or taken.get(a, 0) < per_article:
            taken[a] = taken.get(a, 0) + 1
            picked.append(p)
            if len(picked) == k:
                break
    return picked


def _articles_jsonl(index: Index) -> str:
    lines = []
    for i, a in enumerate(index.articles):
        lines.append(json.dumps({
            "id": a.id, "title": a.title, "source": a.source,
            "date": a.date.isoformat() if a.date else None, "url": a.url, "author": a.author,
            "path": a.path, "hash": a.content_hash, "text_hash": a.text_hash,
            "start": int(index.article_start[i]),
        }, ensure_ascii=False))
    lines.append(json.dumps({"end": int(index.article_start[-1]) if len(index.article_start) else 0}))
    return "\n".join(lines) + "\n"


def _read_articles(path: Path) -> tuple[tuple[Article, ...], npt.NDArray[np.int64]]:
    articles = []
    starts = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if "end" in row:
                starts.append(row["end"])
                break
            articles.append(Article(
                id=row["id"], title=row["title"], text="", source=row["source"],
                date=date.fromisoformat(row["date"]) if row["date"] else None, url=row["url"],
                author=row["author"], path=row["path"], content_hash=row["hash"],
                text_hash=row["text_hash"],
            ))
            starts.append(row["start"])
    return tuple(articles), np.array(starts, dtype=np.int64)


def _write(path: Path, fill: Any) -> None:
    with path.open("wb") as fh:
        fill(fh)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(index_dir: Path, live: str, keep: int) -> None:
    """Delete all but the live version and the `keep` newest before it, and stale temp folders."""
    olds = sorted((p for p in index_dir.iterdir() if p.is_dir() and p.name != live),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    for path in olds:
        if path.name.startswith(".tmp-") or keep <= 0:
            shutil.rmtree(path, ignore_errors=True)
        else:
            keep -= 1
