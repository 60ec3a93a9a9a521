"""The saved index: BM25 postings, passages and article metadata, loaded without re-analysis.

Passages live in segments (`newsbot.index.segment`), numbered across them in order; passages of
articles that were since removed or changed are dead: kept in their segment, never found, and
left out of every statistic. The index is exactly rank-bm25's BM25Okapi over its live passages.

Layout under the index directory: one folder per build (named by its version) and a `CURRENT`
file naming the live one. A build is written to a hidden temporary folder, flushed, renamed, and
only then does `CURRENT` switch (by atomic `os.replace`), so a crash mid-write leaves the previous
index in place and usable. Large arrays are memory-mapped: start-up reads only what a query needs.
Loading checks every file's presence and size against `meta.json` (cheap: no data is read), so a
damaged index raises `IndexCorrupt` naming the file, and the engine builds it again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from bisect import bisect_right
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from newsbot.errors import IndexCorrupt
from newsbot.index.bm25 import BM25Params, FloatArray, Int32Array, IntArray, Postings
from newsbot.index.search import search
from newsbot.index.segment import Segment
from newsbot.index.tables import (
    Articles,
    Files,
    FileState,
    Table,
    Terms,
    expect,
    file_size,
    fsync_dir,
    load_array,
    read_json,
    write_file,
)
from newsbot.records import Article, Filters

# 4: sizes and the analysis fingerprint in meta.json; 3: segments and dead passages; 2: one
# postings table of ids, counts and 16-bit weights. An index of another format is built again.
FORMAT = 4
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,99}")  # what `CURRENT` may name
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

_PER_PASSAGE = ("norm", *(name for name in _ARRAYS if name.startswith("passage_")))
T = TypeVar("T")
_MISSING = object()

__all__ = ["FORMAT", "FileState", "Index", "Memo"]


class Memo:
    """Values worked out from one index and kept with it, a few of each kind (e.g. the answers'
    recency prior: a bot asks with the same day all day long). Belongs to its index: two
    indexes never see each other's values, whatever their versions."""

    def __init__(self) -> None:
        self._kinds: dict[str, dict[Hashable, Any]] = {}

    def get(self, kind: str, key: Hashable, make: Callable[[], T], keep: int) -> T:
        """The value of `kind` for `key`, made by `make()` when not kept (at most `keep` are)."""
        values = self._kinds.get(kind)
        if values is None:
            values = self._kinds.setdefault(kind, {})
        found = values.get(key, _MISSING)
        if found is not _MISSING:
            return cast(T, found)
        value = make()
        if len(values) >= keep:
            values.clear()
        values[key] = value
        return value


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
    analysis: Mapping[str, Any] = field(default_factory=dict)  # see `newsbot.index.fingerprint`
    # Not copied by `dataclasses.replace`: a changed index starts with nothing remembered.
    memo: Memo = field(default_factory=Memo, init=False, compare=False, repr=False)

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

    def save(self, index_dir: Path, keep: int = 1) -> Index:
        """Write atomically as a new version folder, then point `CURRENT` at it. Returns the
        saved index as `load` reads it: use it from then on, since this one may still read from
        (or link from) the folders it was assembled from, which are pruned here."""
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
            "analysis": dict(self.analysis),
            "sources": list(self.sources),
            "avgdl": self.avgdl,
            "passages": self.n_passages,
            "terms": len(self.terms),
            "articles": len(self.articles),
            "segments": [s.meta() for s in self.segments],
        }
        write_file(tmp / "meta.json", lambda fh: fh.write(json.dumps(meta).encode()))
        fsync_dir(tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        saved = Index._read(final, meta)
        pointer = index_dir / "CURRENT.tmp"
        write_file(pointer, lambda fh: fh.write(self.version.encode()))
        os.replace(pointer, index_dir / "CURRENT")
        fsync_dir(index_dir)
        _prune(index_dir, self.version, keep)
        return saved

    @classmethod
    def load(cls, index_dir: Path) -> Index | None:
        """The live index under `index_dir`, or None when there is none yet (or in another
        format: it is then built again). `IndexCorrupt` when it is damaged."""
        pointer = index_dir / "CURRENT"
        try:
            version = pointer.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise IndexCorrupt(pointer, f"unreadable ({e})") from e
        expect(pointer, bool(_VERSION.fullmatch(version)), f"names no version ({version[:40]!r})")
        expect(pointer, (index_dir / version).is_dir(), f"names {version}, which is missing")
        return cls.open(index_dir / version)

    @classmethod
    def open(cls, folder: Path) -> Index | None:
        """The index saved in `folder` (a version folder; see `load`)."""
        path = folder / "meta.json"
        meta = read_json(path)
        expect(path, isinstance(meta, dict), "not a JSON object")
        if meta.get("format") != FORMAT:
            return None
        return cls._read(folder, meta)

    @classmethod
    def _read(cls, folder: Path, meta: dict[str, Any]) -> Index:
        path = folder / "meta.json"
        try:
            n_passages, n_terms, n_articles = int(meta["passages"]), int(meta["terms"]), int(meta["articles"])
            segments = tuple(Segment.open(folder, s) for s in meta["segments"])
            index = cls(
                version=str(meta["version"]),
                built_at=str(meta["built_at"]),
                corpus=str(meta["corpus"]),
                params=BM25Params(**meta["params"]),
                analysis=dict(meta["analysis"]),
                terms=Terms.open(folder, n_terms),
                vocab=Table.open(folder, "vocab"),
                segments=segments,
                avgdl=float(meta["avgdl"]),
                articles=Articles.open(folder, n_articles),
                sources=tuple(str(s) for s in meta["sources"]),
                files=Files(folder / "files.json"),
                stems=Table.open(folder, "stems"),
                size_bytes=sum(file_size(f) for f in folder.iterdir()),
                **_arrays(folder, n_passages, n_terms, n_articles),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise IndexCorrupt(path, f"lacks or garbles {e}") from e
        ends = [0] + [s.end for s in segments]
        expect(path, [s.start for s in segments] == ends[:-1], "segments that do not follow each other")
        expect(path, ends[-1] == n_passages, f"segments of {ends[-1]:,} passages, not {n_passages:,}")
        expect(folder / "files.json", (folder / "files.json").is_file(), "missing")
        return index


def _arrays(folder: Path, n_passages: int, n_terms: int, n_articles: int) -> dict[str, Any]:
    """The index-wide arrays, each checked to have as many entries as meta.json says."""
    lengths = {"df": n_terms, "idf": n_terms, "article_start": n_articles, "article_end": n_articles}
    lengths.update(dict.fromkeys(_PER_PASSAGE, n_passages))
    arrays = {name: load_array(folder / f"{name}.npy", lengths.get(name)) for name in _ARRAYS}
    dead = arrays["dead"]
    expect(folder / "dead.npy", not len(dead) or 0 <= int(dead[-1]) < n_passages, "passages out of range")
    return arrays


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
