"""The saved index: BM25 postings, passages and article metadata, loaded without re-analysis.

Passages live in segments (`newsbot.index.segment`), numbered across them in order; passages of
articles that were since removed or changed are dead: kept in their segment, never found, and
left out of every statistic. The index is exactly rank-bm25's BM25Okapi over its live passages.

Layout under the index directory: one folder per build (named by its version) and a `CURRENT`
file naming the live one. A build is written to a hidden temporary folder, flushed, renamed, and
only then does `CURRENT` switch (by atomic `os.replace`), so a crash mid-write leaves the previous
index in place and usable. Large arrays are memory-mapped: start-up reads only what a query needs.
"""

from __future__ import annotations

import json
import os
import shutil
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from newsbot.corpus.scope import GUILDS, Scope
from newsbot.index.bm25 import BM25Params, FloatArray, Int32Array, IntArray, Postings
from newsbot.index.search import search
from newsbot.index.segment import Segment
from newsbot.index.tables import Articles, Files, FileState, Table, Terms, fsync_dir, write_file
from newsbot.records import Article, Filters
from newsbot.text.analyzer import learn_stems

FORMAT = 3  # 3: segments and dead passages; 2: one postings table of ids, counts and 16-bit weights
_ARRAYS = (
    "df",
    "idf",
    "norm",
    "dead",
    "article_start",
    "article_end",
    "passage_article",
    "passage_position",
    "passage_day",
    "passage_source",
    "passage_length",
)

__all__ = ["FORMAT", "FileState", "Index"]


@dataclass(frozen=True)
class Index:
    """Everything a query needs, plus what an incremental reindex reuses."""

    version: str
    built_at: str
    corpus: str
    params: BM25Params
    terms: Sequence[str]  # term id -> term
    vocab: Mapping[str, int]  # term -> term id
    segments: tuple[Segment, ...]
    avgdl: float  # of the live passages
    df: IntArray  # live passages per term
    idf: FloatArray  # per term
    norm: FloatArray  # per passage: k1 * (1 - b + b * length / avgdl)
    dead: IntArray  # passages no longer in the corpus, ascending
    articles: Sequence[Article]  # metadata only: `text` is empty, passages hold the text
    article_start: IntArray  # article i owns passages article_start[i]:article_end[i]
    article_end: IntArray
    passage_article: Int32Array  # -1 when dead
    passage_position: Int32Array  # its number within its article
    passage_day: Int32Array  # date.toordinal(), 0 when unknown
    passage_source: Int32Array  # index into `sources`, -1 when unknown
    passage_length: Int32Array  # its tokens, repeats counted (title included)
    sources: tuple[str, ...]
    files: Mapping[str, FileState]  # read from disk when first needed (by a reindex)
    size_bytes: int = 0
    stems: Mapping[str, str] = field(default_factory=dict)  # token -> stem of the corpus' words

    def extended(
        self, terms: list[str], stems: dict[str, str]
    ) -> tuple[Mapping[str, int], Sequence[str], Mapping[str, str]]:
        """Vocabulary, terms and stems for a new index: these plus new ones, without decoding all."""
        start = len(self.terms)
        vocab = Table.of(self.vocab, "int32").extended({t: start + i for i, t in enumerate(terms)})
        known = Table.of(self.stems, f"S{Table.WIDTH}")
        words = known.extended({w: s for w, s in stems.items() if known.get(w) != s})
        return vocab, Terms.of(self.terms).extended(terms), words

    @property
    def n_passages(self) -> int:
        """Passage numbers in use, dead ones included: the length of per-passage arrays."""
        return len(self.passage_article)

    @property
    def n_live(self) -> int:
        return self.n_passages - len(self.dead)

    @cached_property
    def parts(self) -> tuple[tuple[Segment, Postings], ...]:
        """Each segment with its postings under the current statistics."""
        return tuple(
            (s, Postings.over(s.inverted, self.idf, self.norm[s.start : s.end], self.params.k1))
            for s in self.segments
        )

    def _segment(self, passage: int) -> Segment:
        return self.segments[bisect_right([s.start for s in self.segments], passage) - 1]

    def passage_text(self, passage: int) -> str:
        segment = self._segment(passage)
        return segment.text(passage - segment.start)

    def passage_terms(self, passage: int) -> Int32Array:
        """The distinct term ids of a passage."""
        segment = self._segment(passage)
        forward, local = segment.forward, passage - segment.start
        return forward.terms[int(forward.indptr[local]) : int(forward.indptr[local + 1])]

    def term_ids(self, terms: list[str]) -> list[int]:
        """Term ids of the query terms the corpus knows, repeats kept."""
        ids = (self.vocab.get(t) for t in terms)
        return [i for i in ids if i is not None]

    def scores(self, term_ids: list[int]) -> FloatArray:
        """Every passage's score (0 when dead): rank-bm25's `get_scores` over the live passages."""
        scores = np.zeros(self.n_passages)
        for segment, postings in self.parts:
            mine = scores[segment.start : segment.end]
            for t in term_ids:
                docs, weights = postings.postings(t)
                # Within one term a passage appears once, so fancy-index += is a correct scatter-add.
                mine[docs] += weights
        scores[self.dead] = 0.0
        return scores

    def search(
        self,
        term_ids: list[int],
        k: int,
        filters: Filters = Filters(),
        per_article: int = 1,
        factor: FloatArray | None = None,
    ) -> list[tuple[int, float]]:
        """The best (passage, score) pairs, best first, at most `per_article` per article: exactly
        rank-bm25's scores (times `factor`), found by the pruned search of `newsbot.index.search`."""
        return search(self, term_ids, k, filters, per_article, factor)

    @cached_property
    def passage_owner(self) -> npt.NDArray[np.int64]:
        """Per passage, the server that owns it (0: the operator), from its article's path."""
        saved = self.articles.path if isinstance(self.articles, Articles) else None
        if saved is not None and f'"path": "{GUILDS}/'.encode() not in saved.read_bytes():
            return np.zeros(self.n_passages, dtype=np.int64)  # no server's content: skip parsing
        owners = np.array([Scope.of_path(a.path).guild or 0 for a in self.articles], dtype=np.int64)
        per = np.zeros(self.n_passages, dtype=np.int64)
        if owners.any():
            live = self.passage_article >= 0
            per[live] = owners[self.passage_article[live]]
        return per

    def masks(self, filters: Filters) -> bool:
        """Whether `filter_mask` can exclude anything: a filter is set or servers own content."""
        return filters.active or bool(self.passage_owner.any())

    def filter_mask(self, filters: Filters) -> npt.NDArray[np.bool_]:
        mask = np.ones(self.n_passages, dtype=bool)
        owner = self.passage_owner
        if owner.any():  # other servers' content is never answered
            mask &= (owner == 0) | (owner == (filters.guild or 0))
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
        """Write atomically as a new version folder, then point `CURRENT` at it (this index then
        reads its segments from there)."""
        index_dir.mkdir(parents=True, exist_ok=True)
        final = index_dir / self.version
        tmp = index_dir / f".tmp-{self.version}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        # The big files are written (and flushed to disk) side by side: writes wait on the disk.
        with ThreadPoolExecutor(4) as pool:
            done = [pool.submit(job) for segment in self.segments for job in segment.save(tmp)]
            arrays = {name: np.asarray(getattr(self, name)) for name in _ARRAYS}
            done += [
                pool.submit(write_file, tmp / f"{name}.npy", lambda fh, a=array: np.save(fh, a))
                for name, array in arrays.items()
            ]
            Articles.save(self.articles, tmp)
            Table.of(self.stems, f"S{Table.WIDTH}").save(tmp, "stems")
            Table.of(self.vocab, "int32").save(tmp, "vocab")
            Terms.of(self.terms).save(tmp)
            Files.save(self.files, tmp / "files.json")
            for job in done:
                job.result()
        meta = {
            "format": FORMAT,
            "version": self.version,
            "built_at": self.built_at,
            "corpus": self.corpus,
            "params": asdict(self.params),
            "sources": list(self.sources),
            "avgdl": self.avgdl,
            "segments": [s.meta() for s in self.segments],
        }
        write_file(tmp / "meta.json", lambda fh: fh.write(json.dumps(meta).encode()))
        fsync_dir(tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        # From now on this index reads its segments from `final`: the folders it was assembled
        # from may be pruned below, and a later version will link its files from here.
        object.__setattr__(self, "segments", tuple(Segment.open(final, s.meta()) for s in self.segments))
        self.__dict__.pop("parts", None)
        pointer = index_dir / "CURRENT.tmp"
        write_file(pointer, lambda fh: fh.write(self.version.encode()))
        os.replace(pointer, index_dir / "CURRENT")
        fsync_dir(index_dir)
        _prune(index_dir, self.version, keep)
        return final

    @classmethod
    def load(cls, index_dir: Path) -> Index | None:
        """The live index under `index_dir`, or None when there is none yet (or in an old format)."""
        try:
            version = (index_dir / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        folder = index_dir / version
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != FORMAT:
            return None
        a = {name: np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r")) for name in _ARRAYS}
        stems = Table.open(folder, "stems")
        if stems is not None:  # answering questions then rarely needs to load the stemmer
            learn_stems(stems.get)
        vocab = Table.open(folder, "vocab")
        assert vocab is not None
        return cls(
            version=meta["version"],
            built_at=meta["built_at"],
            corpus=meta["corpus"],
            params=BM25Params(**meta["params"]),
            terms=Terms.open(folder),
            vocab=vocab,
            segments=tuple(Segment.open(folder, s) for s in meta["segments"]),
            avgdl=meta["avgdl"],
            articles=Articles.open(folder),
            sources=tuple(meta["sources"]),
            files=Files(folder / "files.json"),
            stems=stems if stems is not None else {},
            size_bytes=sum(f.stat().st_size for f in folder.iterdir()),
            **a,
        )


def _prune(index_dir: Path, live: str, keep: int) -> None:
    """Delete all but the live version and the `keep` newest before it, and stale temp folders."""
    olds = sorted(
        (p for p in index_dir.iterdir() if p.is_dir() and p.name != live),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for path in olds:
        if path.name.startswith(".tmp-") or keep <= 0:
            shutil.rmtree(path, ignore_errors=True)
        else:
            keep -= 1
